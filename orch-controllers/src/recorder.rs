//! `EventRecorder`: writes Kubernetes `Event`s, aggregating repeats into a count.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use orch_core::kinds::{Event, EventSource};
use orch_core::{Api, ObjectMeta, ObjectRef, ObjectStore, Resource, StoreError};

use crate::Runtime;
use crate::runtime::hash::short_hash;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something may need attention.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Records events about objects. The same (object, type, reason, message) always maps to one
/// Event object whose `count` and `lastTimestamp` grow, even across recorder instances.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::recorder::{EventRecorder, EventType};
/// use orch_controllers::Runtime;
/// use orch_core::{ObjectStore, kinds::Pod};
///
/// async fn note(store: Arc<dyn ObjectStore>, rt: Runtime, pod: &Pod) {
///     let rec = EventRecorder::new(store, "my-controller", rt);
///     let _ = rec.publish(pod, EventType::Normal, "Seen", "the pod was seen").await;
/// }
/// ```
pub struct EventRecorder {
    store: Arc<dyn ObjectStore>,
    component: String,
    rt: Runtime,
    known: Mutex<BTreeSet<(String, String)>>,
}

impl EventRecorder {
    /// A recorder reporting as `component`.
    pub fn new(store: Arc<dyn ObjectStore>, component: impl Into<String>, rt: Runtime) -> Self {
        EventRecorder { store, component: component.into(), rt, known: Mutex::new(BTreeSet::new()) }
    }

    /// Records an event about a typed object.
    ///
    /// # Errors
    /// Store failures writing the event.
    pub async fn publish<K: Resource>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        message: &str,
    ) -> Result<Event, StoreError> {
        let m = obj.meta();
        let involved = ObjectRef {
            api_version: Some(K::api_version().into_owned()),
            kind: Some(K::KIND.to_owned()),
            namespace: m.namespace.clone(),
            name: m.name.clone(),
            uid: m.uid.clone(),
            ..Default::default()
        };
        self.record(involved, type_, reason, message).await
    }

    /// Records an event about `involved` (in its namespace, or `default` for cluster-scoped objects).
    ///
    /// # Errors
    /// Store failures writing the event.
    pub async fn record(
        &self,
        involved: ObjectRef,
        type_: EventType,
        reason: &str,
        message: &str,
    ) -> Result<Event, StoreError> {
        let ns = involved.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        let fingerprint = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            involved.kind.as_deref().unwrap_or(""),
            ns,
            involved.name.as_deref().unwrap_or(""),
            involved.uid.as_deref().unwrap_or(""),
            type_.as_str(),
            reason,
            message
        );
        let name = format!("{}.{}", involved.name.as_deref().unwrap_or("event"), short_hash(fingerprint.as_bytes()));
        let api: Api<Event> = Api::namespaced(self.store.clone(), &ns);
        let now = self.rt.clock.now();
        let key = (ns.clone(), name.clone());
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner()).contains(&key);
        if !known {
            let ev = Event {
                metadata: ObjectMeta::named(&name).in_namespace(&ns),
                involved_object: involved.clone(),
                reason: Some(reason.to_owned()),
                message: Some(message.to_owned()),
                source: Some(EventSource { component: Some(self.component.clone()), host: None }),
                first_timestamp: Some(now),
                last_timestamp: Some(now),
                count: Some(1),
                type_: Some(type_.as_str().to_owned()),
                reporting_component: Some(self.component.clone()),
                ..Default::default()
            };
            match api.create(&ev).await {
                Ok(created) => {
                    self.known.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
                    return Ok(created);
                }
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut last = StoreError::Conflict { message: "event update kept conflicting".into() };
        for _ in 0..5 {
            let mut ev = match api.get(&name).await {
                Ok(ev) => ev,
                Err(StoreError::NotFound { .. }) => {
                    self.known.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
                    return Box::pin(self.record(involved.clone(), type_, reason, message)).await;
                }
                Err(e) => return Err(e),
            };
            ev.count = Some(ev.count.unwrap_or(1) + 1);
            ev.last_timestamp = Some(now);
            match api.update(&ev).await {
                Ok(updated) => {
                    self.known.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
                    return Ok(updated);
                }
                Err(e @ StoreError::Conflict { .. }) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}
