//! A deterministic control plane for tests: ManualClock + DeterministicExecutor + MemKv Registry.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use orch_controllers::{Informers, Latch, Runtime};
use orch_core::patch::Patch;
use orch_core::runtime::{Clock, DeterministicExecutor, ManualClock};
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, WatchParams, WatchStream, WriteOptions,
};
use orch_core::{DynamicObject, ObjectStore, ResourceType, StoreError, Timestamp};
use orch_store::kv::KvStore;
use orch_store::mem::{MemKv, MemKvConfig};
use orch_store::registry::{Registry, RegistryConfig};

pub struct Sim {
    pub exec: DeterministicExecutor,
    pub clock: ManualClock,
    pub store: Arc<dyn ObjectStore>,
    pub rt: Runtime,
}

impl Sim {
    pub fn new() -> Self {
        let exec = DeterministicExecutor::new();
        let clock = ManualClock::new();
        let kv: Arc<dyn KvStore> =
            Arc::new(MemKv::with_runtime(MemKvConfig::default(), Arc::new(clock.clone()), Arc::new(exec.clone())));
        let registry = exec
            .block_on(
                Registry::builder(kv, Arc::new(clock.clone()), Arc::new(exec.clone()))
                    .config(RegistryConfig::default().uid_seed(7))
                    .build(),
            )
            .expect("registry");
        let registry = Arc::new(registry);
        let rt = Runtime::new(Arc::new(clock.clone()), Arc::new(exec.clone()));
        Sim { exec, clock, store: registry, rt }
    }

    pub fn informers(&self) -> Informers {
        Informers::new(self.store.clone(), self.rt.clone())
    }

    pub fn informers_over(&self, store: Arc<dyn ObjectStore>) -> Informers {
        Informers::new(store, self.rt.clone())
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.exec.block_on(f)
    }

    /// Runs every ready task, without moving time.
    pub fn settle(&self) {
        self.exec.run_until_stalled();
    }

    /// Moves time forward by `d`, timer by timer, running tasks after each step; calls `check`
    /// after every step.
    pub fn run_for_checked(&self, d: Duration, mut check: impl FnMut(&Sim)) {
        let end = self.clock.now() + d;
        self.settle();
        check(self);
        while let Some(t) = self.clock.next_deadline().filter(|t| *t <= end) {
            self.clock.set(t);
            self.settle();
            check(self);
        }
        self.clock.set(end);
        self.settle();
        check(self);
    }

    pub fn run_for(&self, d: Duration) {
        self.run_for_checked(d, |_| {});
    }

    pub fn start(&self, name: &str, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        self.rt.spawn(name, fut);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// An object store whose watch events of one kind arrive `lag` late (a cache that lags its writes),
/// and that can be cut off (every call fails) to simulate a partition.
pub struct FaultyStore {
    pub inner: Arc<dyn ObjectStore>,
    pub clock: Arc<dyn Clock>,
    pub lag_kind: Option<(&'static str, Duration)>,
    pub cut: Arc<std::sync::atomic::AtomicBool>,
    pub disconnect: std::sync::Mutex<Latch>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        FaultyStore { inner, clock, lag_kind: None, cut: Arc::default(), disconnect: Default::default() }
    }

    pub fn lagging(mut self, kind: &'static str, lag: Duration) -> Self {
        self.lag_kind = Some((kind, lag));
        self
    }

    /// Ends every open watch stream.
    pub fn disconnect_watches(&self) {
        let mut l = self.disconnect.lock().unwrap();
        l.set();
        *l = Latch::new();
    }

    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
            Err(StoreError::Unavailable { message: "partitioned".into() })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn create(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        o: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.create(rt, obj, o).await
    }
    async fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.get(rt, ns, name).await
    }
    async fn list(&self, rt: &ResourceType, ns: Option<&str>, p: &ListParams) -> Result<ObjectList, StoreError> {
        self.check()?;
        self.inner.list(rt, ns, p).await
    }
    async fn update(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        o: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.update(rt, obj, o).await
    }
    async fn update_status(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        o: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.update_status(rt, obj, o).await
    }
    async fn patch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Patch,
        o: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.patch(rt, ns, name, patch, o).await
    }
    async fn delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        o: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.check()?;
        self.inner.delete(rt, ns, name, o).await
    }
    async fn bind(&self, ns: &str, pod: &str, node: &str) -> Result<DynamicObject, StoreError> {
        self.check()?;
        self.inner.bind(ns, pod, node).await
    }
    async fn evict(&self, ns: &str, pod: &str, o: &DeleteOptions) -> Result<(), StoreError> {
        self.check()?;
        self.inner.evict(ns, pod, o).await
    }
    async fn watch(&self, rt: &ResourceType, ns: Option<&str>, p: &WatchParams) -> Result<WatchStream, StoreError> {
        self.check()?;
        let disconnect = self.disconnect.lock().unwrap().clone();
        let stream = self.inner.watch(rt, ns, p).await?.take_until(async move { disconnect.wait().await }).boxed();
        match self.lag_kind {
            Some((kind, lag)) if rt.kind == kind => {
                let clock = self.clock.clone();
                Ok(stream
                    .then(move |ev| {
                        let clock = clock.clone();
                        async move {
                            clock.sleep(lag).await;
                            ev
                        }
                    })
                    .boxed())
            }
            _ => Ok(stream),
        }
    }
}
