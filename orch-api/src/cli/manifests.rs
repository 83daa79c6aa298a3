//! Reading `-f` inputs: files, directories (their `.yaml`, `.yml` and `.json` files) and standard input, checked against the known kinds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orch_core::{DynamicObject, KindInfo, KindRegistry, manifest};

use super::environment::Environment;
use super::errors::CliError;

/// One object read from a manifest, with its kind and the file it came from.
#[derive(Clone, Debug)]
pub struct ManifestObject {
    /// The file (`-` for standard input).
    pub file: String,
    /// The object's kind.
    pub info: Arc<KindInfo>,
    /// The object.
    pub object: DynamicObject,
}

/// Reads every input in order. Nothing is returned unless every document of every file parses,
/// names a known kind and passes the kind's checks, so a bad file changes nothing.
///
/// # Errors
/// [`CliError::Read`] for a path that cannot be read, [`CliError::Manifest`] naming the file,
/// document, line and field of the first bad document, [`CliError::InvalidArgument`] when the
/// inputs hold no object.
pub fn read_all(
    inputs: &[String],
    recursive: bool,
    kinds: &KindRegistry,
    env: &Environment,
) -> Result<Vec<ManifestObject>, CliError> {
    let mut out = Vec::new();
    for input in inputs {
        if input == "-" {
            let bytes = env.stdin.read_all().map_err(|source| CliError::Read { path: "-".into(), source })?;
            parse_into(&mut out, "-", &bytes, kinds)?;
            continue;
        }
        let path = Path::new(input);
        let files = if path.is_dir() { manifest_files(path, recursive)? } else { vec![path.to_owned()] };
        for file in files {
            let bytes = std::fs::read(&file).map_err(|source| CliError::Read { path: file.clone(), source })?;
            parse_into(&mut out, &file.display().to_string(), &bytes, kinds)?;
        }
    }
    if out.is_empty() {
        return Err(CliError::InvalidArgument(format!("no objects passed to apply (read {})", inputs.join(", "))));
    }
    Ok(out)
}

fn parse_into(out: &mut Vec<ManifestObject>, file: &str, bytes: &[u8], kinds: &KindRegistry) -> Result<(), CliError> {
    let err = |error| CliError::Manifest { file: file.to_owned(), error };
    let text = std::str::from_utf8(bytes).map_err(|_| match manifest::parse_bytes(bytes) {
        Err(e) => err(e),
        Ok(_) => CliError::InvalidArgument(format!("{file} is not UTF-8")),
    })?;
    for (info, object) in manifest::parse_checked(kinds, text).map_err(err)? {
        out.push(ManifestObject { file: file.to_owned(), info, object });
    }
    Ok(())
}

/// The manifest files of a directory, sorted by name; subdirectories only when `recursive`.
fn manifest_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, CliError> {
    let read_err = |source| CliError::Read { path: dir.to_owned(), source };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort();
    let mut files = Vec::new();
    for p in entries {
        if p.is_dir() {
            if recursive {
                files.extend(manifest_files(&p, true)?);
            }
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
            files.push(p);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_files_are_read_in_name_order_and_others_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let ns = |n: &str| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {n}}}\n");
        std::fs::write(dir.path().join("b.yaml"), ns("b")).unwrap();
        std::fs::write(dir.path().join("a.yml"), ns("a")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/c.json"),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}"#,
        )
        .unwrap();
        let kinds = KindRegistry::with_builtins();
        let env = Environment::default();
        let input = vec![dir.path().display().to_string()];
        let names = |objs: Vec<ManifestObject>| objs.iter().map(|o| o.object.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(read_all(&input, false, &kinds, &env).unwrap()), ["a", "b"]);
        assert_eq!(names(read_all(&input, true, &kinds, &env).unwrap()), ["a", "b", "c"]);
    }

    #[test]
    fn stdin_is_read_for_a_dash() {
        let env = Environment::default().stdin_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: s}\n");
        let objs = read_all(&["-".into()], false, &KindRegistry::with_builtins(), &env).unwrap();
        assert_eq!(objs[0].file, "-");
        assert_eq!(objs[0].object.name(), "s");
    }
}
