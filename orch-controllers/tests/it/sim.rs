//! A deterministic control plane for tests: ManualClock + DeterministicExecutor + MemKv Registry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use orch_controllers::{Informers, Latch, Runtime};
use orch_core::runtime::{Clock, DeterministicExecutor, ManualClock};
use orch_core::store::{LayeredStore, StoreCall, StoreLayer, WatchParams, WatchStream};
use orch_core::{ObjectStore, ResourceType, StoreError, Timestamp};
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
pub type FaultyStore = LayeredStore<Faults>;

/// The faults of a [`FaultyStore`].
pub struct Faults {
    clock: Arc<dyn Clock>,
    lag_kind: Option<(&'static str, Duration)>,
    cut: AtomicBool,
    disconnect: Mutex<Latch>,
}

impl Faults {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Faults { clock, lag_kind: None, cut: AtomicBool::new(false), disconnect: Default::default() }
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
        self.cut.store(cut, Ordering::SeqCst);
    }
}

#[async_trait]
impl StoreLayer for Faults {
    fn admit(&self, _: &StoreCall<'_>) -> Result<(), StoreError> {
        if self.cut.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable { message: "partitioned".into() })
        } else {
            Ok(())
        }
    }

    async fn watch(
        &self,
        inner: &dyn ObjectStore,
        rt: &ResourceType,
        ns: Option<&str>,
        p: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        let disconnect = self.disconnect.lock().unwrap().clone();
        let stream = inner.watch(rt, ns, p).await?.take_until(async move { disconnect.wait().await }).boxed();
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
