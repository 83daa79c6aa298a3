//! `HubEvent` and its `EventDecoder`: one store event decoded once, the previous state reused
//! from the key's last event instead of being decoded a second time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use orch_core::DynamicObject;
use orch_core::store::WatchEvent;

use super::codec;
use super::read::Filter;
use crate::kv::{KeyValue, KvEvent, KvEventKind};

/// One change of one object, decoded once and shared by every watcher.
pub(super) struct HubEvent {
    pub(super) revision: i64,
    /// The object after the change; for a delete, its last state with the delete's revision.
    pub(super) object: Arc<DynamicObject>,
    /// The object before the change (with the revision that wrote it), for puts that replaced one.
    pub(super) prev: Option<Arc<DynamicObject>>,
    pub(super) deleted: bool,
}

impl HubEvent {
    /// The watch event a watcher with `filter` sees, if any: objects entering the filter are
    /// `Added`, leaving it `Deleted` (with their previous state at this change's revision).
    pub(super) fn for_filter(&self, filter: &Filter) -> Option<WatchEvent> {
        if self.deleted {
            return filter.matches(&self.object).then(|| WatchEvent::Deleted(self.object.clone()));
        }
        let now = filter.matches(&self.object);
        let before = self.prev.as_ref().map(|p| filter.matches(p));
        match (before, now) {
            (Some(true), true) => Some(WatchEvent::Modified(self.object.clone())),
            (Some(true), false) => self.prev.as_ref().map(|p| WatchEvent::Deleted(at_revision(p, self.revision))),
            (None | Some(false), true) => Some(WatchEvent::Added(self.object.clone())),
            (_, false) => None,
        }
    }
}

/// `obj` with resourceVersion `revision` (shared as it is when it already has it).
fn at_revision(obj: &Arc<DynamicObject>, revision: i64) -> Arc<DynamicObject> {
    let rv = revision.to_string();
    if obj.metadata.resource_version.as_deref() == Some(rv.as_str()) {
        return obj.clone();
    }
    let mut copy = (**obj).clone();
    copy.metadata.resource_version = Some(rv);
    Arc::new(copy)
}

/// Decodes one kind's store events in revision order. A put's `prev_kv` is the state the key's
/// previous event wrote, so the decoder keeps the decoded object of the last `capacity` keys
/// written and hands it out as the next event's `prev` (matched by mod revision) instead of
/// parsing the same JSON again: one decode per change instead of two.
pub(super) struct EventDecoder {
    recent: HashMap<Bytes, (i64, Arc<DynamicObject>)>,
    /// Keys in the order they were remembered, with the revision remembered (for eviction).
    order: VecDeque<(Bytes, i64)>,
    capacity: usize,
}

impl EventDecoder {
    /// A decoder remembering the last `capacity` keys written (0: none).
    pub(super) fn new(capacity: usize) -> Self {
        EventDecoder { recent: HashMap::new(), order: VecDeque::new(), capacity }
    }

    /// Decodes one store event; undecodable objects yield `None` (they cannot be served anyway).
    pub(super) fn decode(&mut self, ev: &KvEvent) -> Option<HubEvent> {
        let revision = ev.kv.mod_revision;
        match ev.kind {
            KvEventKind::Put => {
                let prev = ev.prev_kv.as_ref().and_then(|p| self.prev(p, p.mod_revision));
                let object = Arc::new(codec::decode(&ev.kv).ok()?);
                self.remember(&ev.kv.key, revision, &object);
                Some(HubEvent { revision, object, prev, deleted: false })
            }
            KvEventKind::Delete => {
                let object = self.prev(ev.prev_kv.as_ref()?, revision)?;
                self.recent.remove(&ev.kv.key);
                Some(HubEvent { revision, object, prev: None, deleted: true })
            }
        }
    }

    /// The state `p` held, with resourceVersion `revision`: the remembered object when it is
    /// that state, else decoded.
    fn prev(&self, p: &KeyValue, revision: i64) -> Option<Arc<DynamicObject>> {
        match self.recent.get(&p.key) {
            Some((rev, obj)) if *rev == p.mod_revision => Some(at_revision(obj, revision)),
            _ => codec::decode_at(&p.key, &p.value, revision).ok().map(Arc::new),
        }
    }

    fn remember(&mut self, key: &Bytes, revision: i64, object: &Arc<DynamicObject>) {
        if self.capacity == 0 {
            return;
        }
        self.recent.insert(key.clone(), (revision, object.clone()));
        self.order.push_back((key.clone(), revision));
        while self.order.len() > self.capacity {
            let Some((old, rev)) = self.order.pop_front() else { break };
            if self.recent.get(&old).is_some_and(|(r, _)| *r == rev) {
                self.recent.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(name: &str, rev: i64, phase: &str) -> KeyValue {
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "d"}, "status": {"phase": phase}});
        KeyValue {
            key: Bytes::from(format!("/registry/pods/d/{name}")),
            value: Bytes::from(serde_json::to_vec(&obj).unwrap()),
            create_revision: 1,
            mod_revision: rev,
            version: 1,
            lease: 0,
        }
    }

    fn put(new: KeyValue, prev: Option<KeyValue>) -> KvEvent {
        KvEvent { kind: KvEventKind::Put, kv: new, prev_kv: prev }
    }

    fn phase(o: &DynamicObject) -> String {
        o.to_value()["status"]["phase"].as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn a_put_reuses_the_object_its_key_last_wrote_as_prev() {
        let mut d = EventDecoder::new(8);
        let first = d.decode(&put(kv("a", 2, "Pending"), None)).unwrap();
        let second = d.decode(&put(kv("a", 3, "Running"), Some(kv("a", 2, "Pending")))).unwrap();
        assert!(Arc::ptr_eq(second.prev.as_ref().unwrap(), &first.object));
        assert_eq!(phase(&second.object), "Running");
    }

    #[test]
    fn a_prev_older_than_the_decoder_remembers_is_decoded() {
        let mut d = EventDecoder::new(1);
        d.decode(&put(kv("a", 2, "Pending"), None));
        d.decode(&put(kv("b", 3, "Pending"), None));
        let ev = d.decode(&put(kv("a", 4, "Running"), Some(kv("a", 2, "Pending")))).unwrap();
        let prev = ev.prev.unwrap();
        assert_eq!((phase(&prev), prev.metadata.resource_version.as_deref()), ("Pending".into(), Some("2")));
    }

    #[test]
    fn a_delete_carries_the_last_state_at_the_delete_revision() {
        let mut d = EventDecoder::new(8);
        d.decode(&put(kv("a", 2, "Running"), None));
        let mut gone = kv("a", 5, "");
        gone.value = Bytes::new();
        let ev =
            d.decode(&KvEvent { kind: KvEventKind::Delete, kv: gone, prev_kv: Some(kv("a", 2, "Running")) }).unwrap();
        assert!(ev.deleted);
        assert_eq!(ev.object.metadata.resource_version.as_deref(), Some("5"));
        assert_eq!(phase(&ev.object), "Running");
    }
}
