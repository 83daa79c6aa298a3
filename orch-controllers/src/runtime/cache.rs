//! The reflector cache: one single-owner [`Writer`], many cheap cloneable read [`Store`]s, secondary indexes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use orch_core::Resource;

use super::{CacheObserver, Latch, ObjectKey};

/// A secondary index: the values an object is filed under (for example its node name).
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// A change the writer applied, as the reflector reports it to subscribers.
#[derive(Debug)]
pub enum Change<K> {
    /// The object was added or modified; `old` is the state it replaced, if any.
    Applied {
        /// The previous state in the cache.
        old: Option<Arc<K>>,
        /// The new state.
        new: Arc<K>,
    },
    /// The object was deleted; this is its last state.
    Deleted(Arc<K>),
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Change::Applied { old, new } => Change::Applied { old: old.clone(), new: new.clone() },
            Change::Deleted(o) => Change::Deleted(o.clone()),
        }
    }
}

impl<K> Change<K> {
    /// The object's current (or last) state.
    pub fn object(&self) -> &Arc<K> {
        match self {
            Change::Applied { new, .. } => new,
            Change::Deleted(o) => o,
        }
    }
}

struct State<K> {
    objects: BTreeMap<ObjectKey, Arc<K>>,
    indexers: BTreeMap<String, IndexFn<K>>,
    /// index name → value → keys.
    indexes: BTreeMap<String, BTreeMap<String, BTreeSet<ObjectKey>>>,
    /// Derived views, in registration order.
    observers: Vec<Arc<dyn CacheObserver<K>>>,
}

impl<K: Resource> State<K> {
    /// Files `key` under the index values of `new`, moving it from those of `old`. An object
    /// whose values did not change (most updates: a status write keeps the owner, node and
    /// namespace) costs one call of each index function and no set operation.
    fn reindex(&mut self, key: &ObjectKey, old: Option<&K>, new: Option<&K>) {
        for (name, f) in &self.indexers {
            let before = old.map(|o| f(o)).unwrap_or_default();
            let after = new.map(|o| f(o)).unwrap_or_default();
            if before == after {
                continue;
            }
            let idx = self.indexes.entry(name.clone()).or_default();
            for v in before.iter().filter(|v| !after.contains(v)) {
                if let Some(set) = idx.get_mut(v) {
                    set.remove(key);
                    if set.is_empty() {
                        idx.remove(v);
                    }
                }
            }
            for v in after.into_iter().filter(|v| !before.contains(v)) {
                idx.entry(v).or_default().insert(key.clone());
            }
        }
    }
}

struct Shared<K> {
    state: RwLock<State<K>>,
    synced: Latch,
}

impl<K> Shared<K> {
    fn read(&self) -> RwLockReadGuard<'_, State<K>> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> RwLockWriteGuard<'_, State<K>> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The only handle that changes the cache. Owned by one reflector; not `Clone`.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::{ObjectKey, Writer};
/// use orch_core::{ObjectMeta, kinds::Pod};
/// let mut writer: Writer<Pod> = Writer::new();
/// let store = writer.reader();
/// writer.add_index("node", Arc::new(|p: &Pod| p.spec.node_name.clone().into_iter().collect()));
/// let mut pod = Pod { metadata: ObjectMeta::named("a").in_namespace("default"), ..Default::default() };
/// pod.spec.node_name = Some("n1".into());
/// writer.apply(Arc::new(pod));
/// assert_eq!(store.by_index("node", "n1").len(), 1);
/// assert!(store.get(&ObjectKey::namespaced("default", "a")).is_some());
/// ```
pub struct Writer<K> {
    shared: Arc<Shared<K>>,
}

impl<K: Resource> Default for Writer<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Resource> Writer<K> {
    /// An empty cache.
    pub fn new() -> Self {
        Writer {
            shared: Arc::new(Shared {
                state: RwLock::new(State {
                    objects: BTreeMap::new(),
                    indexers: BTreeMap::new(),
                    indexes: BTreeMap::new(),
                    observers: Vec::new(),
                }),
                synced: Latch::new(),
            }),
        }
    }

    /// A read handle; clones are cheap and see every change.
    pub fn reader(&self) -> Store<K> {
        Store { shared: self.shared.clone() }
    }

    /// Adds (or replaces) a secondary index and files every cached object under it.
    pub fn add_index(&mut self, name: &str, f: IndexFn<K>) {
        add_index(&self.shared, name, f);
    }

    /// Inserts or replaces an object; returns the change.
    pub fn apply(&mut self, obj: Arc<K>) -> Change<K> {
        let key = ObjectKey::of(obj.as_ref());
        let mut st = self.shared.write();
        let old = st.objects.insert(key.clone(), obj.clone());
        st.reindex(&key, old.as_deref(), Some(&obj));
        st.observers.iter().for_each(|o| o.applied(old.as_deref(), &obj));
        Change::Applied { old, new: obj }
    }

    /// Removes an object; returns the change (with the cached last state when there is one).
    pub fn delete(&mut self, obj: Arc<K>) -> Change<K> {
        let key = ObjectKey::of(obj.as_ref());
        let mut st = self.shared.write();
        if let Some(o) = st.objects.remove(&key) {
            st.reindex(&key, Some(&o), None);
            st.observers.iter().for_each(|ob| ob.removed(&o));
        }
        Change::Deleted(obj)
    }

    /// Replaces the whole content (after a list); returns the changes against the old content
    /// and marks the cache synced.
    pub fn replace(&mut self, items: Vec<Arc<K>>) -> Vec<Change<K>> {
        let mut changes = Vec::with_capacity(items.len());
        {
            let mut st = self.shared.write();
            let mut old = std::mem::take(&mut st.objects);
            st.indexes.clear();
            st.observers.iter().for_each(|o| o.cleared());
            for obj in items {
                let key = ObjectKey::of(obj.as_ref());
                let prev = old.remove(&key);
                st.reindex(&key, None, Some(&obj));
                st.observers.iter().for_each(|o| o.applied(None, &obj));
                st.objects.insert(key, obj.clone());
                changes.push(Change::Applied { old: prev, new: obj });
            }
            changes.extend(old.into_values().map(Change::Deleted));
        }
        self.shared.synced.set();
        changes
    }
}

fn add_index<K: Resource>(shared: &Shared<K>, name: &str, f: IndexFn<K>) {
    let mut st = shared.write();
    let mut idx: BTreeMap<String, BTreeSet<ObjectKey>> = BTreeMap::new();
    for (key, obj) in &st.objects {
        for v in f(obj) {
            idx.entry(v).or_default().insert(key.clone());
        }
    }
    st.indexes.insert(name.to_owned(), idx);
    st.indexers.insert(name.to_owned(), f);
}

/// A read view of the cache: cheap to clone, never blocks the writer for long.
pub struct Store<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Store { shared: self.shared.clone() }
    }
}

impl<K: Resource> Store<K> {
    /// The cached object under `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<K>> {
        self.shared.read().objects.get(key).cloned()
    }

    /// Every cached object, ordered by key.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.shared.read().objects.values().cloned().collect()
    }

    /// Every cached object in one namespace, ordered by name.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let st = self.shared.read();
        let start = ObjectKey::namespaced(namespace, "");
        st.objects
            .range(start..)
            .take_while(|(k, _)| k.namespace.as_deref() == Some(namespace))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every cached key.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.shared.read().objects.keys().cloned().collect()
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.shared.read().objects.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects filed under `value` in index `index` (empty for an unknown index).
    pub fn by_index(&self, index: &str, value: &str) -> Vec<Arc<K>> {
        let st = self.shared.read();
        let Some(keys) = st.indexes.get(index).and_then(|i| i.get(value)) else { return Vec::new() };
        keys.iter().filter_map(|k| st.objects.get(k).cloned()).collect()
    }

    /// Whether a first full list has been applied.
    pub fn is_synced(&self) -> bool {
        self.shared.synced.is_set()
    }

    /// Completes once a first full list has been applied.
    pub async fn wait_synced(&self) {
        self.shared.synced.wait().await
    }

    /// Adds a secondary index (allowed on the read side so controllers sharing a reflector can
    /// each register the indexes they need; indexing is not a change of content).
    pub fn add_index(&self, name: &str, f: IndexFn<K>) {
        add_index(&self.shared, name, f);
    }

    /// Registers a derived view: it is replayed the current content at once, then told every
    /// change under the cache's write lock (see [`CacheObserver`]).
    pub fn add_observer(&self, observer: Arc<dyn CacheObserver<K>>) {
        let mut st = self.shared.write();
        st.objects.values().for_each(|o| observer.applied(None, o));
        st.observers.push(observer);
    }

    /// Whether an index of that name exists.
    pub fn has_index(&self, name: &str) -> bool {
        self.shared.read().indexers.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::Pod;

    fn pod(name: &str, node: &str) -> Arc<Pod> {
        let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
        p.spec.node_name = Some(node.into());
        Arc::new(p)
    }

    fn by_node() -> IndexFn<Pod> {
        Arc::new(|p: &Pod| p.spec.node_name.clone().into_iter().collect())
    }

    #[test]
    fn index_follows_updates_and_deletes() {
        let mut w = Writer::new();
        let r = w.reader();
        w.add_index("node", by_node());
        w.apply(pod("a", "n1"));
        w.apply(pod("a", "n2"));
        assert!(r.by_index("node", "n1").is_empty());
        assert_eq!(r.by_index("node", "n2").len(), 1);
        w.delete(pod("a", "n2"));
        assert!(r.by_index("node", "n2").is_empty());
        assert!(r.is_empty());
    }

    #[test]
    fn replace_reports_vanished_objects_as_deleted_and_marks_synced() {
        let mut w = Writer::new();
        let r = w.reader();
        w.apply(pod("gone", "n1"));
        assert!(!r.is_synced());
        let changes = w.replace(vec![pod("kept", "n1")]);
        assert!(r.is_synced());
        assert_eq!(changes.len(), 2);
        assert!(matches!(&changes[1], Change::Deleted(p) if p.metadata.name_str() == "gone"));
    }

    #[test]
    fn an_index_added_late_files_existing_objects() {
        let mut w = Writer::new();
        let r = w.reader();
        w.apply(pod("a", "n1"));
        r.add_index("node", by_node());
        assert_eq!(r.by_index("node", "n1").len(), 1);
    }

    #[test]
    fn namespace_listing_stops_at_the_namespace_boundary() {
        let mut w: Writer<Pod> = Writer::new();
        let r = w.reader();
        w.apply(pod("a", "n"));
        let other = Pod { metadata: ObjectMeta::named("b").in_namespace("other"), ..Default::default() };
        w.apply(Arc::new(other));
        assert_eq!(r.list_namespace("default").len(), 1);
        assert_eq!(r.list_namespace("other").len(), 1);
    }

    /// Counts cached pods per node, as an observer sees them.
    #[derive(Default)]
    struct PerNode(std::sync::Mutex<BTreeMap<String, i64>>);

    impl CacheObserver<Pod> for PerNode {
        fn applied(&self, old: Option<&Pod>, new: &Pod) {
            if let Some(o) = old {
                self.removed(o);
            }
            *self.0.lock().unwrap().entry(new.spec.node_name.clone().unwrap_or_default()).or_default() += 1;
        }
        fn removed(&self, old: &Pod) {
            *self.0.lock().unwrap().entry(old.spec.node_name.clone().unwrap_or_default()).or_default() -= 1;
        }
        fn cleared(&self) {
            self.0.lock().unwrap().clear();
        }
    }

    #[test]
    fn an_observer_is_replayed_the_content_then_follows_every_change() {
        let mut w = Writer::new();
        w.apply(pod("a", "n1"));
        let counts = Arc::new(PerNode::default());
        w.reader().add_observer(counts.clone());
        let get = |n: &str| counts.0.lock().unwrap().get(n).copied().unwrap_or_default();
        assert_eq!(get("n1"), 1);
        w.apply(pod("a", "n2"));
        w.apply(pod("b", "n2"));
        assert_eq!((get("n1"), get("n2")), (0, 2));
        w.delete(pod("b", "n2"));
        assert_eq!(get("n2"), 1);
        w.replace(vec![pod("c", "n3")]);
        assert_eq!((get("n2"), get("n3")), (0, 1));
    }
}
