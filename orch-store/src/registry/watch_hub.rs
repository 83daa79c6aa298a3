//! `WatchHub`: one store watch per kind, each event decoded once and fanned out to indexed watchers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use orch_core::store::WatchEvent;
use orch_core::{ResourceType, StoreError};

pub(super) use super::hub_event::{EventDecoder, HubEvent};
use super::read::Filter;
use super::watch_queue::{PushError, WatchQueue};
use crate::kv::{KvStore, KvWatchStream, WatchMessage, WatchRequest};

struct Slot {
    filter: Filter,
    queue: Arc<WatchQueue>,
    after: i64,
    bookmarks: bool,
    index: IndexKey,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum IndexKey {
    Node(String),
    Namespace(String),
    Label(String, String),
    None,
}

impl IndexKey {
    fn for_filter(filter: &Filter) -> IndexKey {
        if let Some(node) = filter.fields.as_ref().and_then(|f| f.value_for("spec.nodeName")) {
            return IndexKey::Node(node.to_owned());
        }
        if let Some(ns) = &filter.namespace {
            return IndexKey::Namespace(ns.clone());
        }
        if let Some((k, v)) =
            filter.labels.as_ref().and_then(|s| s.requirements().iter().find_map(|r| r.equals_value()))
        {
            return IndexKey::Label(k.to_owned(), v.to_owned());
        }
        IndexKey::None
    }
}

struct HubState {
    /// Every event with revision >= `floor` is in `ring`.
    floor: i64,
    /// Revision after the last one dispatched.
    next: i64,
    ring: VecDeque<Arc<HubEvent>>,
    /// Ordered by id (subscription order), so watchers are woken in the same order every run.
    slots: BTreeMap<u64, Slot>,
    index: HashMap<IndexKey, HashSet<u64>>,
    next_id: u64,
    failed: bool,
}

/// The fan-out point of one kind's watch.
pub(super) struct WatchHub {
    state: Mutex<HubState>,
    history: usize,
}

/// How a new watcher was attached.
pub(super) enum Subscribed {
    /// The hub serves it.
    Attached,
    /// The hub no longer holds the events it needs; it must read the store's history itself.
    TooOld,
}

impl WatchHub {
    /// Starts a hub for `rt`: a store watch of the kind's prefix from just after the current revision.
    pub(super) async fn start(
        kv: &Arc<dyn KvStore>,
        spawn: &Arc<dyn orch_core::runtime::Spawn>,
        rt: &ResourceType,
        history: usize,
    ) -> Result<Arc<WatchHub>, StoreError> {
        let current = kv.status().await?.revision;
        let prefix = super::keys::type_prefix(rt, None);
        let stream =
            kv.watch(WatchRequest::prefix(prefix).from_revision(current + 1).with_prev_kv().with_progress()).await?;
        let hub = Arc::new(WatchHub {
            state: Mutex::new(HubState {
                floor: current + 1,
                next: current + 1,
                ring: VecDeque::new(),
                slots: BTreeMap::new(),
                index: HashMap::new(),
                next_id: 0,
                failed: false,
            }),
            history,
        });
        let decoder = EventDecoder::new(history);
        spawn.spawn_boxed("registry-watch-hub", Box::pin(pump(Arc::downgrade(&hub), stream, decoder)));
        Ok(hub)
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the hub's store watch has ended (a new hub must be started).
    pub(super) fn failed(&self) -> bool {
        self.lock().failed
    }

    /// Attaches a watcher that wants every matching event after revision `after`; `TooOld`
    /// when the hub no longer holds (or never held) the events just after it, or has failed.
    pub(super) fn subscribe(&self, filter: Filter, queue: Arc<WatchQueue>, after: i64, bookmarks: bool) -> Subscribed {
        let mut st = self.lock();
        if after + 1 < st.floor || st.failed {
            return Subscribed::TooOld;
        }
        for ev in st.ring.iter().filter(|e| e.revision > after) {
            if let Some(w) = ev.for_filter(&filter) {
                queue.push_unbounded(w);
            }
        }
        let index = IndexKey::for_filter(&filter);
        let id = st.next_id;
        st.next_id += 1;
        st.index.entry(index.clone()).or_default().insert(id);
        st.slots.insert(id, Slot { filter, queue, after, bookmarks, index });
        Subscribed::Attached
    }

    fn dispatch(&self, batch: Vec<Arc<HubEvent>>) {
        let mut st = self.lock();
        let mut dead = Vec::new();
        // One revision's events reach a watcher together (all or none).
        for group in batch.chunk_by(|a, b| a.revision == b.revision) {
            // Ordered, so watchers are woken in subscription order (deterministic simulations).
            let mut per_watcher: BTreeMap<u64, Vec<WatchEvent>> = BTreeMap::new();
            for ev in group {
                for id in candidates(&st, ev) {
                    let Some(slot) = st.slots.get(&id) else { continue };
                    if ev.revision <= slot.after {
                        continue;
                    }
                    if let Some(w) = ev.for_filter(&slot.filter) {
                        per_watcher.entry(id).or_default().push(w);
                    }
                }
            }
            for (id, events) in per_watcher {
                if let Some(slot) = st.slots.get(&id)
                    && let Err(PushError::Overflow | PushError::Gone) = slot.queue.push_all(events)
                {
                    dead.push(id);
                }
            }
            st.ring.extend(group.iter().cloned());
            while st.ring.len() > self.history {
                if let Some(old) = st.ring.pop_front() {
                    st.floor = old.revision + 1;
                }
            }
            st.next = group[0].revision + 1;
        }
        for id in dead {
            remove(&mut st, id);
        }
    }

    fn progress(&self, revision: i64) {
        let mut st = self.lock();
        if revision + 1 > st.next {
            st.next = revision + 1;
            if st.ring.is_empty() {
                st.floor = st.next;
            }
        }
        let mut dead = Vec::new();
        for (id, slot) in &st.slots {
            if slot.queue.is_gone() {
                dead.push(*id);
            } else if slot.bookmarks && revision > slot.after {
                let _ = slot.queue.push_all(vec![WatchEvent::Bookmark { resource_version: revision.to_string() }]);
            }
        }
        for id in dead {
            remove(&mut st, id);
        }
    }

    fn fail(&self, error: StoreError) {
        let mut st = self.lock();
        st.failed = true;
        for (_, slot) in std::mem::take(&mut st.slots) {
            slot.queue.close(Some(WatchEvent::Error(error.clone())));
        }
        st.index.clear();
    }
}

/// The watchers that may care about `ev`: those indexed by its node, namespace or labels, and the unindexed.
fn candidates(st: &HubState, ev: &HubEvent) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    let mut add = |key: &IndexKey| {
        if let Some(ids) = st.index.get(key) {
            out.extend(ids.iter().copied());
        }
    };
    add(&IndexKey::None);
    for obj in std::iter::once(&ev.object).chain(ev.prev.iter()) {
        add(&IndexKey::Namespace(obj.namespace().to_owned()));
        // Watchers of `spec.nodeName=` (unbound pods, the scheduler's view) are indexed under "".
        let node = obj.spec().and_then(|s| s.get("nodeName")).and_then(|n| n.as_str()).unwrap_or("");
        add(&IndexKey::Node(node.to_owned()));
        for (k, v) in &obj.metadata.labels {
            add(&IndexKey::Label(k.clone(), v.clone()));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn remove(st: &mut HubState, id: u64) {
    if let Some(slot) = st.slots.remove(&id)
        && let Some(set) = st.index.get_mut(&slot.index)
    {
        set.remove(&id);
        if set.is_empty() {
            st.index.remove(&slot.index);
        }
    }
}

/// Reads the store watch, decodes each event once (outside the hub's lock) and dispatches it.
async fn pump(hub: std::sync::Weak<WatchHub>, mut stream: KvWatchStream, mut decoder: EventDecoder) {
    while let Some(msg) = stream.next().await {
        let Some(hub) = hub.upgrade() else { return };
        match msg {
            Ok(WatchMessage::Events(events)) => {
                hub.dispatch(events.iter().filter_map(|e| decoder.decode(e)).map(Arc::new).collect());
            }
            Ok(WatchMessage::Progress { revision }) => hub.progress(revision),
            Err(e) => {
                hub.fail(e.into());
                return;
            }
        }
    }
    if let Some(hub) = hub.upgrade() {
        hub.fail(StoreError::Unavailable { message: "the store closed the watch".into() });
    }
}
