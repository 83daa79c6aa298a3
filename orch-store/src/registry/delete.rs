//! Deletes and evictions: preconditions, finalizers, graceful pod deletion and propagation policy.

use std::time::Duration;

use orch_core::store::{DeleteOptions, DeleteOutcome, PropagationPolicy};
use orch_core::{DynamicObject, ResourceType, StoreError};
use serde_json::Value;

use super::core::mod_revision;
use super::write::{conflict, contended, qualified};
use super::{Registry, keys};

/// Finalizer that holds an owner until the garbage collector orphans its dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer that holds an owner until the garbage collector deleted its dependents.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

impl Registry {
    pub(super) async fn delete_object(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        let info = self.kind(rt)?;
        let namespace = if rt.namespaced() { namespace.unwrap_or("") } else { "" };
        if rt.namespaced() && namespace.is_empty() {
            return Err(StoreError::bad_request("a namespace is required to delete a namespaced object"));
        }
        let key = keys::object_key(rt, namespace, name);
        let is_pod = rt.group.is_empty() && rt.kind == "Pod";
        for _ in 0..self.inner.config.max_write_retries {
            let old = self.read_existing(rt, namespace, name).await?;
            let old_rev = mod_revision(&old);
            if let Some(pre) = &opts.preconditions {
                if pre.uid.as_deref().is_some_and(|u| old.metadata.uid.as_deref() != Some(u)) {
                    return Err(StoreError::Conflict {
                        message: format!("uid precondition failed for {}", qualified(namespace, name)),
                    });
                }
                if let Some(rv) = pre.resource_version.as_deref()
                    && super::codec::parse_rv(rv)? != old_rev
                {
                    return Err(conflict(rt, namespace, name));
                }
            }
            let grace = if is_pod { self.pod_grace(&old, opts) } else { 0 };
            let mut new = old.clone();
            match opts.propagation_policy {
                Some(PropagationPolicy::Orphan) => add_finalizer(&mut new, ORPHAN_FINALIZER),
                Some(PropagationPolicy::Foreground) => add_finalizer(&mut new, FOREGROUND_FINALIZER),
                Some(PropagationPolicy::Background) | None => {}
            }
            let now = self.now();
            let outcome = if let Some(old_grace) =
                old.metadata.deletion_grace_period_seconds.filter(|_| old.metadata.deletion_timestamp.is_some())
            {
                // Already being deleted: a new delete may only shorten the grace period.
                if grace < old_grace {
                    new.metadata.deletion_grace_period_seconds = Some(grace);
                    new.metadata.deletion_timestamp = Some(now + Duration::from_secs(grace as u64));
                }
                if new == old {
                    return Ok(DeleteOutcome::Pending(old));
                }
                self.commit_update(&info, &key, &old, new, opts.dry_run).await?.map(|o| finished_or_pending(o, &old))
            } else if !new.metadata.finalizers.is_empty() || grace > 0 {
                new.metadata.deletion_timestamp = Some(now + Duration::from_secs(grace as u64));
                new.metadata.deletion_grace_period_seconds = Some(grace);
                self.commit_update(&info, &key, &old, new, opts.dry_run).await?.map(|o| finished_or_pending(o, &old))
            } else if opts.dry_run {
                Some(DeleteOutcome::Deleted(old.clone()))
            } else {
                let claims = if super::write::is_service(rt) {
                    super::service_alloc::releases_of(&old)
                } else {
                    super::service_alloc::Claims::default()
                };
                self.delete_if(&key, old_rev, &claims).await?.map(|rev| {
                    let mut last = old.clone();
                    last.metadata.resource_version = Some(rev.to_string());
                    DeleteOutcome::Deleted(last)
                })
            };
            match outcome {
                Some(o) => return Ok(o),
                None if opts.preconditions.as_ref().is_some_and(|p| p.resource_version.is_some()) => {
                    return Err(conflict(rt, namespace, name));
                }
                None => continue,
            }
        }
        Err(contended(namespace, name))
    }

    /// The grace period of a pod deletion: none for pods never scheduled or already finished.
    fn pod_grace(&self, pod: &DynamicObject, opts: &DeleteOptions) -> i64 {
        let spec = pod.spec();
        let bound = spec.and_then(|s| s.get("nodeName")).and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        let phase = pod.status().and_then(|s| s.get("phase")).and_then(Value::as_str).unwrap_or("");
        if !bound || phase == "Succeeded" || phase == "Failed" {
            return 0;
        }
        opts.grace_period_seconds
            .or_else(|| spec.and_then(|s| s.get("terminationGracePeriodSeconds")).and_then(Value::as_i64))
            .unwrap_or(self.inner.config.default_pod_grace_seconds)
            .max(0)
    }

    pub(super) async fn evict_pod(&self, namespace: &str, pod: &str, opts: &DeleteOptions) -> Result<(), StoreError> {
        let rt = <orch_core::kinds::Pod as orch_core::Resource>::resource_type();
        let current = self.read_existing(&rt, namespace, pod).await?;
        if let Some(guard) = &self.inner.eviction {
            guard.check(&current).await?;
        }
        self.delete_object(&rt, Some(namespace), pod, opts).await.map(|_| ())
    }
}

fn add_finalizer(obj: &mut DynamicObject, finalizer: &str) {
    if !obj.metadata.finalizers.iter().any(|f| f == finalizer) {
        obj.metadata.finalizers.push(finalizer.to_owned());
    }
}

/// A commit that removed the object reports `Deleted`; otherwise the object is pending.
fn finished_or_pending(obj: DynamicObject, old: &DynamicObject) -> DeleteOutcome {
    let removed = obj.metadata.finalizers.is_empty() && obj.metadata.deletion_grace_period_seconds.unwrap_or(0) == 0;
    if removed && obj.metadata.resource_version != old.metadata.resource_version {
        DeleteOutcome::Deleted(obj)
    } else {
        DeleteOutcome::Pending(obj)
    }
}
