//! Writes: create, update, status update, patch and binding, with optimistic concurrency.

use orch_core::store::Subresource;
use orch_core::{DynamicObject, KindInfo, Patch, ResourceType, StoreError};
use serde_json::{Value, json};

use super::core::{mod_revision, not_found};
use super::service_alloc::{self, Claims};
use super::{Operation, Registry, codec, keys};

impl Registry {
    pub(super) async fn create_object(
        &self,
        rt: &ResourceType,
        mut obj: DynamicObject,
        dry_run: bool,
    ) -> Result<DynamicObject, StoreError> {
        let info = self.kind(rt)?;
        check_type(&info, &mut obj)?;
        let namespace = namespace_of(rt, &obj)?;
        if obj.metadata.resource_version.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(StoreError::bad_request("resourceVersion should not be set on objects to be created"));
        }
        let generated = obj.metadata.name.as_deref().unwrap_or("").is_empty()
            && !obj.metadata.generate_name.as_deref().unwrap_or("").is_empty();
        obj.metadata.uid = Some(self.inner.uids.uid());
        obj.metadata.creation_timestamp = Some(self.now());
        obj.metadata.generation = Some(1);
        obj.metadata.deletion_timestamp = None;
        obj.metadata.deletion_grace_period_seconds = None;
        if info.has_status {
            initial_status(rt, &mut obj);
        }
        if !namespace.is_empty() && rt.kind != "Namespace" {
            self.check_namespace_accepts(&namespace).await?;
        }
        let service = is_service(rt);
        for _attempt in 0..8 {
            if generated {
                let prefix = obj.metadata.generate_name.clone().unwrap_or_default();
                obj.metadata.name = Some(format!("{prefix}{}", self.inner.uids.name_suffix()));
            }
            // Only a generated name can be retried; otherwise the object is used up by this attempt.
            // A Service can also lose a race for an address and try again.
            let mut candidate = if generated || service { obj.clone() } else { std::mem::take(&mut obj) };
            self.admit(&info, Operation::Create, None, &mut candidate, dry_run).await?;
            let claims = if service { self.allocate_service(None, &mut candidate).await? } else { Claims::default() };
            let name = candidate.name().to_owned();
            let bytes = codec::encode(&mut candidate, self.inner.config.max_object_bytes)?;
            if dry_run {
                return Ok(candidate);
            }
            let key = keys::object_key(rt, &namespace, &name);
            match self.put_if(&key, 0, bytes, &claims).await? {
                Some(rev) => {
                    candidate.metadata.resource_version = Some(rev.to_string());
                    return Ok(candidate);
                }
                None if generated => continue,
                None if !claims.is_empty() && self.read_existing(rt, &namespace, &name).await.is_err() => continue,
                None => {
                    return Err(StoreError::AlreadyExists {
                        resource: rt.group_resource(),
                        name: qualified(&namespace, &name),
                    });
                }
            }
        }
        Err(StoreError::AlreadyExists {
            resource: rt.group_resource(),
            name: "(generated names kept colliding)".into(),
        })
    }

    /// Refuses creates in a namespace that does not exist or is being deleted.
    async fn check_namespace_accepts(&self, namespace: &str) -> Result<(), StoreError> {
        /// Just the part of a stored namespace this check reads (the rest is skipped, not decoded).
        #[derive(serde::Deserialize)]
        struct Stored {
            #[serde(default)]
            metadata: StoredMeta,
        }
        #[derive(serde::Deserialize, Default)]
        struct StoredMeta {
            #[serde(default, rename = "deletionTimestamp")]
            deletion_timestamp: Option<serde::de::IgnoredAny>,
        }
        let rt = <orch_core::kinds::Namespace as orch_core::Resource>::resource_type();
        let key = keys::object_key(&rt, "", namespace);
        let resp = self.inner.kv.range(crate::kv::RangeRequest::key(key)).await?;
        let Some(kv) = resp.kvs.first() else {
            return Err(not_found(&rt, "", namespace));
        };
        let stored: Stored = serde_json::from_slice(&kv.value)
            .map_err(|e| StoreError::internal(format!("corrupt namespace {namespace:?} in the store: {e}")))?;
        if stored.metadata.deletion_timestamp.is_some() {
            return Err(StoreError::Forbidden {
                message: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
            });
        }
        Ok(())
    }

    pub(super) async fn update_object(
        &self,
        rt: &ResourceType,
        mut obj: DynamicObject,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<DynamicObject, StoreError> {
        let info = self.kind(rt)?;
        check_type(&info, &mut obj)?;
        if subresource == Subresource::Status && !info.has_status {
            return Err(StoreError::NotFound {
                resource: format!("{}/status", rt.group_resource()),
                name: obj.name().to_owned(),
            });
        }
        let namespace = namespace_of(rt, &obj)?;
        let name = obj.name().to_owned();
        if name.is_empty() {
            return Err(StoreError::bad_request("metadata.name is required for an update"));
        }
        let precondition =
            obj.metadata.resource_version.as_deref().filter(|v| !v.is_empty()).map(codec::parse_rv).transpose()?;
        let key = keys::object_key(rt, &namespace, &name);
        for _ in 0..self.inner.config.max_write_retries {
            let old = self.read_existing(rt, &namespace, &name).await?;
            let old_rev = mod_revision(&old);
            if precondition.is_some_and(|p| p != old_rev) {
                return Err(conflict(rt, &namespace, &name));
            }
            if let Some(uid) = obj.metadata.uid.as_deref().filter(|u| !u.is_empty())
                && old.metadata.uid.as_deref() != Some(uid)
            {
                return Err(StoreError::Conflict {
                    message: format!(
                        "uid precondition failed for {}: the object was replaced",
                        qualified(&namespace, &name)
                    ),
                });
            }
            let new = match subresource {
                Subresource::Main => merge_main(&info, &old, obj.clone())?,
                Subresource::Status => merge_status(&old, obj.clone()),
            };
            if let Some(done) = self.commit_update(&info, &key, &old, new, dry_run).await? {
                return Ok(done);
            }
            if precondition.is_some() {
                return Err(conflict(rt, &namespace, &name));
            }
        }
        Err(contended(&namespace, &name))
    }

    pub(super) async fn patch_object(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Patch,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<DynamicObject, StoreError> {
        let info = self.kind(rt)?;
        if subresource == Subresource::Status && !info.has_status {
            return Err(StoreError::NotFound {
                resource: format!("{}/status", rt.group_resource()),
                name: name.to_owned(),
            });
        }
        let namespace = if rt.namespaced() { namespace.unwrap_or("") } else { "" };
        if rt.namespaced() && namespace.is_empty() {
            return Err(StoreError::bad_request("a namespace is required to patch a namespaced object"));
        }
        let key = keys::object_key(rt, namespace, name);
        for _ in 0..self.inner.config.max_write_retries {
            let old = self.read_existing(rt, namespace, name).await?;
            let old_rev = mod_revision(&old);
            let patched = patch.apply(&rt.kind, &old.to_value()).map_err(StoreError::from)?;
            let mut patched = DynamicObject::from_value(patched)
                .map_err(|e| StoreError::bad_request(format!("the patched object is not a valid object: {e}")))?;
            check_type(&info, &mut patched)?;
            let requested_rv = patched.metadata.resource_version.as_deref().map(codec::parse_rv).transpose()?;
            if requested_rv.is_some_and(|rv| rv != old_rev) {
                return Err(conflict(rt, namespace, name));
            }
            let new = match subresource {
                Subresource::Main => merge_main(&info, &old, patched)?,
                Subresource::Status => merge_status(&old, patched),
            };
            if let Some(done) = self.commit_update(&info, &key, &old, new, dry_run).await? {
                return Ok(done);
            }
        }
        Err(contended(namespace, name))
    }

    pub(super) async fn bind_pod(&self, namespace: &str, pod: &str, node: &str) -> Result<DynamicObject, StoreError> {
        let rt = <orch_core::kinds::Pod as orch_core::Resource>::resource_type();
        if let Err(reason) = orch_core::validation::names::dns1123_subdomain(node) {
            return Err(StoreError::Invalid {
                kind: "Binding".into(),
                name: pod.to_owned(),
                errors: orch_core::FieldError::invalid("target.name", reason).into(),
            });
        }
        let info = self.kind(&rt)?;
        let key = keys::object_key(&rt, namespace, pod);
        for _ in 0..self.inner.config.max_write_retries {
            let old = self.read_existing(&rt, namespace, pod).await?;
            if old.metadata.deletion_timestamp.is_some() {
                return Err(StoreError::Conflict {
                    message: format!("pod {namespace}/{pod} is being deleted, cannot be assigned"),
                });
            }
            if let Some(current) =
                old.spec().and_then(|s| s.get("nodeName")).and_then(Value::as_str).filter(|n| !n.is_empty())
            {
                return Err(StoreError::Conflict {
                    message: format!("pod {namespace}/{pod} is already assigned to node {current:?}"),
                });
            }
            let mut new = old.clone();
            let spec = new.data.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                spec.insert("nodeName".into(), Value::String(node.to_owned()));
            }
            set_condition(&mut new, "PodScheduled", &self.now().to_string());
            if let Some(done) = self.commit_update(&info, &key, &old, new, false).await? {
                return Ok(done);
            }
        }
        Err(contended(namespace, pod))
    }

    /// Admits and writes `new` over `old` if `old` is still current. `Ok(None)` when another
    /// writer got there first. An unchanged object is not written. An object being deleted
    /// whose finalizers are now empty (and whose grace period is over) is removed.
    pub(super) async fn commit_update(
        &self,
        info: &KindInfo,
        key: &str,
        old: &DynamicObject,
        mut new: DynamicObject,
        dry_run: bool,
    ) -> Result<Option<DynamicObject>, StoreError> {
        let service = is_service(&info.resource_type);
        if service {
            service_alloc::prepare_update(old, &mut new);
        }
        self.admit(info, Operation::Update, Some(old), &mut new, dry_run).await?;
        let finished = new.metadata.deletion_timestamp.is_some()
            && new.metadata.finalizers.is_empty()
            && new.metadata.deletion_grace_period_seconds.unwrap_or(0) == 0;
        // A Service keeps (or gets) its addresses before it is compared with the stored one.
        let claims =
            if service && !finished { self.allocate_service(Some(old), &mut new).await? } else { Claims::default() };
        let old_gen = old.metadata.generation.unwrap_or(1);
        new.metadata.generation = Some(if spec_changed(old, &new) { old_gen + 1 } else { old_gen });
        new.metadata.resource_version = old.metadata.resource_version.clone();
        if new == *old {
            return Ok(Some(new));
        }
        let old_rev = mod_revision(old);
        if finished {
            if dry_run {
                return Ok(Some(new));
            }
            let claims = if service { service_alloc::releases_of(old) } else { Claims::default() };
            return Ok(self.delete_if(key, old_rev, &claims).await?.map(|rev| {
                new.metadata.resource_version = Some(rev.to_string());
                new
            }));
        }
        let bytes = codec::encode(&mut new, self.inner.config.max_object_bytes)?;
        if dry_run {
            return Ok(Some(new));
        }
        Ok(self.put_if(key, old_rev, bytes, &claims).await?.map(|rev| {
            new.metadata.resource_version = Some(rev.to_string());
            new
        }))
    }
}

/// Whether `rt` is the core Service kind, whose writes allocate addresses.
pub(super) fn is_service(rt: &ResourceType) -> bool {
    rt.group.is_empty() && rt.kind == "Service"
}

/// Fills in or checks `apiVersion` and `kind` against the kind addressed.
pub(super) fn check_type(info: &KindInfo, obj: &mut DynamicObject) -> Result<(), StoreError> {
    let api_version = info.api_version();
    let kind = &info.resource_type.kind;
    if obj.types.api_version.is_empty() {
        obj.types.api_version = api_version.clone();
    }
    if obj.types.kind.is_empty() {
        obj.types.kind = kind.to_string();
    }
    if obj.types.api_version != api_version || obj.types.kind != *kind {
        return Err(StoreError::bad_request(format!(
            "the object is a {}/{} but the request addresses {api_version}/{kind}",
            obj.types.api_version, obj.types.kind
        )));
    }
    Ok(())
}

/// The namespace an object is written in: required for namespaced kinds, forbidden otherwise.
pub(super) fn namespace_of(rt: &ResourceType, obj: &DynamicObject) -> Result<String, StoreError> {
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    match (rt.namespaced(), ns.is_empty()) {
        (true, true) => Err(StoreError::bad_request(format!("{} objects need metadata.namespace", rt.kind))),
        (false, false) => Err(StoreError::bad_request(format!(
            "{} objects are cluster-scoped: metadata.namespace must be empty",
            rt.kind
        ))),
        _ => Ok(ns),
    }
}

/// The status an object starts with, as Kubernetes' create strategies set it: pods start
/// `Pending`, namespaces `Active`, nodes keep what their agent registers (capacity, addresses),
/// every other kind starts with no status (its controller writes it).
fn initial_status(rt: &ResourceType, obj: &mut DynamicObject) {
    match (rt.group.as_ref(), rt.kind.as_ref()) {
        ("", "Node") => {}
        ("", "Pod") => {
            obj.data.insert("status".into(), json!({ "phase": "Pending" }));
        }
        ("", "Namespace") => {
            obj.data.insert("status".into(), json!({ "phase": "Active" }));
        }
        _ => {
            obj.data.remove("status");
        }
    }
}

/// An update of the main resource: the client's object, with the fields only the store may set
/// taken from the stored one, and `status` kept when it is a separate subresource.
fn merge_main(info: &KindInfo, old: &DynamicObject, mut new: DynamicObject) -> Result<DynamicObject, StoreError> {
    if old.metadata.deletion_timestamp.is_some() {
        if let Some(added) = new.metadata.finalizers.iter().find(|f| !old.metadata.finalizers.contains(f)) {
            return Err(StoreError::Forbidden {
                message: format!("no new finalizers can be added while the object is being deleted (found {added:?})"),
            });
        }
    }
    new.types = old.types.clone();
    let m = &mut new.metadata;
    m.uid = old.metadata.uid.clone();
    m.name = old.metadata.name.clone();
    m.namespace = old.metadata.namespace.clone();
    m.creation_timestamp = old.metadata.creation_timestamp;
    m.deletion_timestamp = old.metadata.deletion_timestamp;
    m.deletion_grace_period_seconds = old.metadata.deletion_grace_period_seconds;
    m.generation = old.metadata.generation;
    if old.metadata.generate_name.is_some() && m.generate_name.is_none() {
        m.generate_name = old.metadata.generate_name.clone();
    }
    if info.has_status {
        match old.data.get("status") {
            Some(s) => {
                new.data.insert("status".into(), s.clone());
            }
            None => {
                new.data.remove("status");
            }
        }
    }
    Ok(new)
}

/// A write of the status subresource: the stored object with the client's `status`.
fn merge_status(old: &DynamicObject, new: DynamicObject) -> DynamicObject {
    let mut out = old.clone();
    match new.data.get("status") {
        Some(s) => {
            out.data.insert("status".into(), s.clone());
        }
        None => {
            out.data.remove("status");
        }
    }
    out
}

/// Whether anything outside `metadata` and `status` changed.
fn spec_changed(old: &DynamicObject, new: &DynamicObject) -> bool {
    let fields = |o: &DynamicObject| o.data.iter().filter(|(k, _)| k.as_str() != "status").count();
    fields(old) != fields(new) || old.data.iter().any(|(k, v)| k != "status" && new.data.get(k) != Some(v))
}

/// Sets a condition of `type_` to True in `status.conditions`, keeping the transition time when unchanged.
fn set_condition(obj: &mut DynamicObject, type_: &str, now: &str) {
    let status = obj.data.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else { return };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    let Some(list) = conditions.as_array_mut() else { return };
    if let Some(c) = list.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some(type_)) {
        if c.get("status").and_then(Value::as_str) != Some("True") {
            *c = json!({ "type": type_, "status": "True", "lastTransitionTime": now });
        }
    } else {
        list.push(json!({ "type": type_, "status": "True", "lastTransitionTime": now }));
    }
}

pub(super) fn conflict(rt: &ResourceType, namespace: &str, name: &str) -> StoreError {
    StoreError::Conflict {
        message: format!(
            "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
            rt.group_resource(),
            qualified(namespace, name)
        ),
    }
}

/// The error when a retried write kept losing the race against other writers.
pub(super) fn contended(namespace: &str, name: &str) -> StoreError {
    StoreError::Conflict { message: format!("too many concurrent writers on {}", qualified(namespace, name)) }
}

pub(super) fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() { name.to_owned() } else { format!("{namespace}/{name}") }
}
