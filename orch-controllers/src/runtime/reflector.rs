//! `Reflector`: runs a [`Watcher`](super::Watcher) into a cache [`Writer`] and tells subscribers what changed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use futures::future::{Either, select};
use orch_core::{Api, Resource};

use super::{Change, Latch, Runtime, Store, Watcher, WatcherConfig, WatcherEvent, Writer};

/// Called with every change, after the cache has applied it (so the cache already shows it).
/// Must be quick and must not block: typically it maps the object to keys and queues them.
pub type Subscriber<K> = Arc<dyn Fn(&Change<K>) + Send + Sync>;

/// Keeps a subscription alive; dropping it unsubscribes.
#[must_use = "dropping a Subscription unsubscribes"]
pub struct Subscription {
    cancel: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(c) = self.cancel.take() {
            c();
        }
    }
}

/// One list+watch of a kind feeding one cache, shared by every controller that needs the kind.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::{Latch, Reflector, Runtime, WatcherConfig};
/// use orch_core::{Api, kinds::Node};
///
/// async fn count_nodes(api: Api<Node>, rt: Runtime) -> usize {
///     let reflector = Reflector::new(api, WatcherConfig::default());
///     let store = reflector.store();
///     let stop = Latch::new();
///     reflector.start(&rt, stop.clone());
///     store.wait_synced().await;
///     stop.set();
///     store.len()
/// }
/// ```
pub struct Reflector<K> {
    api: Api<K>,
    config: WatcherConfig,
    writer: Mutex<Option<Writer<K>>>,
    store: Store<K>,
    subscribers: RwLock<BTreeMap<u64, Subscriber<K>>>,
    next_id: AtomicU64,
    started: AtomicBool,
}

impl<K: Resource> Reflector<K> {
    /// A reflector that has not started.
    pub fn new(api: Api<K>, config: WatcherConfig) -> Arc<Self> {
        let writer = Writer::new();
        let store = writer.reader();
        Arc::new(Reflector {
            api,
            config,
            writer: Mutex::new(Some(writer)),
            store,
            subscribers: RwLock::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
            started: AtomicBool::new(false),
        })
    }

    /// The read side of the cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// The API handle it watches through.
    pub fn api(&self) -> &Api<K> {
        &self.api
    }

    /// Registers `f` for every future change.
    pub fn subscribe(self: &Arc<Self>, f: Subscriber<K>) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.subscribers.write().unwrap_or_else(|e| e.into_inner()).insert(id, f);
        let weak: Weak<Self> = Arc::downgrade(self);
        Subscription {
            cancel: Some(Box::new(move || {
                if let Some(r) = weak.upgrade() {
                    r.subscribers.write().unwrap_or_else(|e| e.into_inner()).remove(&id);
                }
            })),
        }
    }

    /// Whether [`start`](Self::start) has been called.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Starts the list+watch loop in the background until `stop` is set; a second call does nothing.
    /// Returns whether this call started it.
    pub fn start(self: &Arc<Self>, rt: &Runtime, stop: Latch) -> bool {
        if self.started.swap(true, Ordering::SeqCst) {
            return false;
        }
        let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() else { return false };
        let me = self.clone();
        let rt2 = rt.clone();
        rt.spawn(&format!("reflector-{}", K::PLURAL), async move { me.run(writer, rt2, stop).await });
        true
    }

    async fn run(self: Arc<Self>, mut writer: Writer<K>, rt: Runtime, stop: Latch) {
        let mut watcher = Watcher::new(self.api.clone(), self.config.clone(), rt);
        loop {
            let event = {
                let next = std::pin::pin!(watcher.next());
                match select(next, stop.wait()).await {
                    Either::Left((ev, _)) => ev,
                    Either::Right(_) => return,
                }
            };
            let changes = match event {
                WatcherEvent::Restarted(items) => writer.replace(items),
                WatcherEvent::Applied(o) => vec![writer.apply(o)],
                WatcherEvent::Deleted(o) => vec![writer.delete(o)],
            };
            let subs: Vec<Subscriber<K>> =
                self.subscribers.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
            for change in &changes {
                for s in &subs {
                    s(change);
                }
            }
        }
    }
}
