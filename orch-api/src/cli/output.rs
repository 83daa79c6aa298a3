//! `-o yaml|json|name`: objects printed the way kubectl prints them (a `List` for several, four-space JSON).

use std::io::Write;

use orch_core::{DynamicObject, KindInfo};
use serde::Serialize;
use serde_json::{Value, json};

use super::errors::CliError;
use super::kinds::object_label;

/// Object formats (tables are printed by [`printers`](super::printers)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectFormat {
    /// YAML.
    Yaml,
    /// JSON, indented by four spaces.
    Json,
    /// `kind.group/name` lines.
    Name,
}

/// Prints objects: one object by itself when `single`, else a `kind: List` holding them.
///
/// # Errors
/// When writing fails.
pub fn print_objects(
    out: &mut dyn Write,
    format: ObjectFormat,
    info: &KindInfo,
    objects: &[DynamicObject],
    single: bool,
) -> Result<(), CliError> {
    match format {
        ObjectFormat::Name => {
            for o in objects {
                writeln!(out, "{}", object_label(info, o))?;
            }
            Ok(())
        }
        _ if single && objects.len() == 1 => write_value(out, format, &objects[0]),
        _ => {
            let list = json!({
                "apiVersion": "v1",
                "items": objects,
                "kind": "List",
                "metadata": { "resourceVersion": "" },
            });
            write_value(out, format, &list)
        }
    }
}

/// Writes one value as YAML or JSON (a `Name` format writes JSON).
///
/// # Errors
/// When writing fails.
pub fn write_value<T: Serialize + ?Sized>(
    out: &mut dyn Write,
    format: ObjectFormat,
    value: &T,
) -> Result<(), CliError> {
    match format {
        ObjectFormat::Yaml => {
            let text = yaml_serde::to_string(value).map_err(|e| std::io::Error::other(e.to_string()))?;
            out.write_all(text.as_bytes())?;
        }
        ObjectFormat::Json | ObjectFormat::Name => {
            let mut buf = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut buf,
                serde_json::ser::PrettyFormatter::with_indent(b"    "),
            );
            value.serialize(&mut ser).map_err(|e| std::io::Error::other(e.to_string()))?;
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
    }
    Ok(())
}

/// Whether a JSON value is "contained" in another: every field of `want` is in `have` with an
/// equal (or, for objects and lists, contained) value. Used by `apply` to tell `unchanged`.
pub fn contained(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| match h.get(k) {
            Some(hv) => contained(v, hv),
            None => v.is_null(),
        }),
        (Value::Array(w), Value::Array(h)) => w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contained(a, b)),
        (w, h) => w == h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{KindRegistry, ObjectMeta};

    #[test]
    fn several_objects_print_as_a_list_and_one_by_itself() {
        let kinds = KindRegistry::with_builtins();
        let info = kinds.by_kind("v1", "Namespace").unwrap();
        let a = DynamicObject::new("v1", "Namespace", ObjectMeta::named("a"));
        let mut out = Vec::new();
        print_objects(&mut out, ObjectFormat::Json, info, std::slice::from_ref(&a), true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Namespace\",\n    \"metadata\": {\n        \"name\": \"a\"\n    }\n}\n"
        );
        let mut out = Vec::new();
        print_objects(&mut out, ObjectFormat::Yaml, info, &[a.clone(), a], false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("apiVersion: v1\nitems:\n- apiVersion: v1\n"), "{text}");
        assert!(text.contains("kind: List\n"), "{text}");
    }

    #[test]
    fn containment_ignores_fields_the_server_added() {
        let want = json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "c"}]}}});
        let have = json!({"spec": {"replicas": 2, "paused": false, "template": {"containers": [{"name": "c", "imagePullPolicy": "Always"}]}}});
        assert!(contained(&want, &have));
        assert!(!contained(&json!({"spec": {"replicas": 3}}), &have));
        assert!(!contained(&json!({"spec": {"template": {"containers": []}}}), &have));
    }
}
