//! `Informers`: one shared [`Reflector`] per kind, so many controllers watch each kind once.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use orch_core::{Api, ObjectStore, Resource};

use super::{Latch, Reflector, Runtime, Store, WatcherConfig};

/// Starts one reflector.
type Starter = Box<dyn Fn(&Runtime, &Latch) + Send + Sync>;

struct Inner {
    store: Arc<dyn ObjectStore>,
    rt: Runtime,
    stop: Latch,
    started: AtomicBool,
    reflectors: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    starters: Mutex<Vec<Starter>>,
}

/// The shared reflectors of one control plane connection. Clones share everything.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::{Informers, Runtime};
/// use orch_core::{ObjectStore, kinds::Pod};
///
/// fn two_views(store: Arc<dyn ObjectStore>, rt: Runtime) {
///     let informers = Informers::new(store, rt);
///     let a = informers.reflector::<Pod>();
///     let b = informers.reflector::<Pod>();
///     assert!(Arc::ptr_eq(&a, &b)); // one watch of pods, however many controllers use it
/// }
/// ```
#[derive(Clone)]
pub struct Informers {
    inner: Arc<Inner>,
}

impl Informers {
    /// Reflectors over `store`, run on `rt`.
    pub fn new(store: Arc<dyn ObjectStore>, rt: Runtime) -> Self {
        Informers {
            inner: Arc::new(Inner {
                store,
                rt,
                stop: Latch::new(),
                started: AtomicBool::new(false),
                reflectors: Mutex::new(HashMap::new()),
                starters: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The object store everything talks to.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.store.clone()
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.rt
    }

    /// The shared reflector of kind `K` (all namespaces), created on first use.
    pub fn reflector<K: Resource>(&self) -> Arc<Reflector<K>> {
        self.reflector_with::<K>(WatcherConfig::default())
    }

    /// Like [`reflector`](Self::reflector); `config` applies only if this call creates it.
    pub fn reflector_with<K: Resource>(&self, config: WatcherConfig) -> Arc<Reflector<K>> {
        let mut map = self.inner.reflectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = map.get(&TypeId::of::<K>()).and_then(|a| a.clone().downcast::<Reflector<K>>().ok()) {
            return r;
        }
        let r = Reflector::new(Api::<K>::all(self.inner.store.clone()), config);
        map.insert(TypeId::of::<K>(), r.clone());
        drop(map);
        let weak = Arc::downgrade(&r);
        let starter = move |rt: &Runtime, stop: &Latch| {
            if let Some(r) = weak.upgrade() {
                r.start(rt, stop.clone());
            }
        };
        if self.inner.started.load(Ordering::SeqCst) {
            starter(&self.inner.rt, &self.inner.stop);
        }
        self.inner.starters.lock().unwrap_or_else(|e| e.into_inner()).push(Box::new(starter));
        r
    }

    /// The cache of kind `K`.
    pub fn store<K: Resource>(&self) -> Store<K> {
        self.reflector::<K>().store()
    }

    /// Starts every reflector (and any created later) until [`stop`](Self::stop).
    pub fn start(&self) {
        self.inner.started.store(true, Ordering::SeqCst);
        for s in self.inner.starters.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            s(&self.inner.rt, &self.inner.stop);
        }
    }

    /// Stops every reflector.
    pub fn stop(&self) {
        self.inner.stop.set();
    }
}
