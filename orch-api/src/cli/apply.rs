//! `orchctl apply -f`: create what does not exist, update what differs (a three-way merge with the last applied configuration), leave the rest.

use orch_core::patch::{merge_patch, strategic_merge};
use orch_core::store::WriteOptions;
use orch_core::{DynamicObject, KindInfo, StoreError};
use serde_json::Value;

use super::args::{ApplyArgs, DryRun};
use super::errors::CliError;
use super::kinds::object_label;
use super::manifests::{ManifestObject, read_all};
use super::session::Session;

/// The annotation holding the configuration last applied, as kubectl keeps it.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How many times an update that lost a race with another writer is retried.
const CONFLICT_RETRIES: usize = 3;

/// What `apply` did to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// It did not exist and was created.
    Created,
    /// It existed and was updated.
    Configured,
    /// It already matched the manifest.
    Unchanged,
}

impl Applied {
    fn word(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Unchanged => "unchanged",
        }
    }
}

/// Runs `apply`: reads every input first (a bad manifest changes nothing), then applies the
/// objects in order, printing `kind.group/name created|configured|unchanged` for each.
///
/// # Errors
/// A manifest error (then nothing is applied); a server error for the only object; or, when
/// several objects were applied, [`CliError::Partial`] after printing each failure and going on
/// with the rest, as kubectl does.
pub async fn run(s: &mut Session<'_>, args: ApplyArgs) -> Result<(), CliError> {
    let objects = read_all(&args.filenames, args.recursive, &s.kinds, s.env)?;
    let mut prepared = Vec::with_capacity(objects.len());
    for m in objects {
        prepared.push(prepare(s, m)?);
    }
    let suffix = match args.dry_run {
        DryRun::None => "",
        DryRun::Client => " (dry run)",
        DryRun::Server => " (server dry run)",
    };
    let (total, mut failed) = (prepared.len(), 0);
    for (info, desired) in prepared {
        let label = object_label(&info, &desired);
        match apply_one(s, &info, desired, args.dry_run).await {
            Ok(outcome) => writeln!(s.out, "{label} {}{suffix}", outcome.word())?,
            Err(e) => s.object_failed(e, total, &mut failed)?,
        }
    }
    if failed > 0 { Err(CliError::Partial { failed, total }) } else { Ok(()) }
}

/// Fills the namespace and records the last-applied annotation.
fn prepare(s: &Session<'_>, m: ManifestObject) -> Result<(std::sync::Arc<KindInfo>, DynamicObject), CliError> {
    let ManifestObject { file, info, mut object } = m;
    if object.name().is_empty() {
        return Err(CliError::InvalidArgument(format!(
            "{file}: {} has no metadata.name; apply needs a name to find the live object",
            object.types.kind
        )));
    }
    if info.resource_type.namespaced() {
        match object.metadata.namespace.as_deref() {
            Some(ns) if s.explicit_namespace && ns != s.namespace => {
                return Err(CliError::InvalidArgument(format!(
                    "the namespace from the provided object {ns:?} does not match the namespace {:?}. \
                     You must pass '--namespace={ns}' to perform this operation.",
                    s.namespace
                )));
            }
            Some(ns) if !ns.is_empty() => {}
            _ => object.metadata.namespace = Some(s.namespace.clone()),
        }
    } else {
        object.metadata.namespace = None;
    }
    object.metadata.annotations.remove(LAST_APPLIED);
    let last_applied = serde_json::to_string(&object).map_err(|e| CliError::InvalidArgument(e.to_string()))?;
    object.metadata.annotations.insert(LAST_APPLIED.to_owned(), last_applied);
    Ok((info, object))
}

/// Applies one object: create on NotFound, else merge into the live object and update it with
/// the live resourceVersion unless nothing would change. A client dry run stops before writing;
/// a server dry run writes with `dryRun`.
///
/// # Errors
/// Any store error other than a `Conflict` that a retry resolves.
pub async fn apply_one(
    s: &mut Session<'_>,
    info: &KindInfo,
    desired: DynamicObject,
    dry_run: DryRun,
) -> Result<Applied, CliError> {
    let rt = &info.resource_type;
    let opts = WriteOptions { dry_run: dry_run == DryRun::Server };
    let write = dry_run != DryRun::Client;
    let ns = desired.metadata.namespace.clone();
    let mut attempt = 0;
    loop {
        let live = match s.store.get(rt, ns.as_deref(), desired.name()).await {
            Ok(live) => live,
            Err(StoreError::NotFound { .. }) => {
                if write {
                    s.store.create(rt, desired, &opts).await?;
                }
                return Ok(Applied::Created);
            }
            Err(e) => return Err(e.into()),
        };
        let Some(updated) = merged(&rt.kind, &live, &desired)? else {
            return Ok(Applied::Unchanged);
        };
        if !write {
            return Ok(Applied::Configured);
        }
        match s.store.update(rt, updated, &opts).await {
            Ok(_) => return Ok(Applied::Configured),
            Err(StoreError::Conflict { .. }) if attempt < CONFLICT_RETRIES => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The live object with the desired configuration merged in (fields dropped since the last
/// apply removed), at the live resourceVersion; `None` when that changes nothing.
fn merged(kind: &str, live: &DynamicObject, desired: &DynamicObject) -> Result<Option<DynamicObject>, CliError> {
    let mut live_value = live.to_value();
    strip_status(&mut live_value);
    let mut desired_value = desired.to_value();
    strip_status(&mut desired_value);
    let last: Option<Value> =
        live.metadata.annotations.get(LAST_APPLIED).and_then(|text| serde_json::from_str(text).ok());
    let patch = match &last {
        Some(last) => with_deletions(&desired_value, last),
        None => desired_value,
    };
    let new_value = strategic_merge(kind, &live_value, &patch).unwrap_or_else(|_| merge_patch(&live_value, &patch));
    if new_value == live_value {
        return Ok(None);
    }
    let mut obj = DynamicObject::from_value(new_value).map_err(|e| CliError::InvalidArgument(e.to_string()))?;
    obj.metadata.resource_version = live.metadata.resource_version.clone();
    Ok(Some(obj))
}

fn strip_status(v: &mut Value) {
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
    }
}

/// `desired` plus a `null` for every map key the last applied configuration had and `desired`
/// no longer has, so the merge removes it (kubectl's three-way merge, for maps).
fn with_deletions(desired: &Value, last: &Value) -> Value {
    match (desired, last) {
        (Value::Object(d), Value::Object(l)) => {
            let mut out = d.clone();
            for (k, lv) in l {
                match d.get(k) {
                    None => {
                        out.insert(k.clone(), Value::Null);
                    }
                    Some(dv) => {
                        out.insert(k.clone(), with_deletions(dv, lv));
                    }
                }
            }
            Value::Object(out)
        }
        _ => desired.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_removed_since_the_last_apply_become_nulls() {
        let last = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"paused": true}});
        let desired = json!({"metadata": {"labels": {"a": "1"}}, "spec": {}});
        assert_eq!(
            with_deletions(&desired, &last),
            json!({"metadata": {"labels": {"a": "1", "b": null}}, "spec": {"paused": null}})
        );
    }

    #[test]
    fn merging_what_is_already_live_changes_nothing() {
        let live = DynamicObject::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "a", "resourceVersion": "7", "uid": "u", "labels": {"x": "1"}}, "status": {"phase": "Active"}}))
        .unwrap();
        let desired = DynamicObject::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "a", "labels": {"x": "1"}}}))
        .unwrap();
        assert!(merged("Namespace", &live, &desired).unwrap().is_none());
        let changed = DynamicObject::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "a", "labels": {"x": "2"}}}))
        .unwrap();
        let update = merged("Namespace", &live, &changed).unwrap().unwrap();
        assert_eq!(update.metadata.labels["x"], "2");
        assert_eq!(update.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(update.metadata.uid.as_deref(), Some("u"));
    }
}
