//! `FaultStore`: the components' view of the store, with outages, dropped watches and slow or
//! failing binds that the simulation switches on and off.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use orch_controllers::Latch;
use orch_core::runtime::Clock;
use orch_core::store::{LayeredStore, StoreCall, StoreLayer, WatchParams, WatchStream};
use orch_core::{DynamicObject, ObjectStore, ResourceType, StoreError};

use super::SimRng;

/// How binds misbehave while switched on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BindFaults {
    /// Each bind waits this long before it reaches the store.
    pub delay: Duration,
    /// The chance that a bind fails before it is written.
    pub fail_before: f64,
    /// The chance that a bind is written but its caller gets an error (an ambiguous outcome).
    pub fail_after: f64,
}

/// The components' view of the store: the registry behind a [`FaultLayer`]. The simulation puts
/// one in front of the registry for all components.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::{Api, ObjectMeta, kinds::Namespace, StoreError};
/// use orch_core::runtime::{DeterministicExecutor, ManualClock};
/// use orch_store::{Registry, mem::{MemKv, MemKvConfig}};
/// use orch_tests::sim::{FaultLayer, FaultStore, SimRng};
/// let (exec, clock) = (DeterministicExecutor::new(), Arc::new(ManualClock::new()));
/// let kv = Arc::new(MemKv::with_runtime(MemKvConfig::default(), clock.clone(), Arc::new(exec.clone())));
/// # exec.block_on(async {
/// let registry = Registry::builder(kv, clock.clone(), Arc::new(exec.clone())).build().await.unwrap();
/// let layer = FaultLayer::new(clock, SimRng::new(1));
/// let faults = Arc::new(FaultStore::new(Arc::new(registry), layer));
/// let api: Api<Namespace> = Api::all(faults.clone());
/// faults.layer().set_down(true);
/// let err = api.create(&Namespace { metadata: ObjectMeta::named("a"), ..Default::default() }).await;
/// assert!(matches!(err, Err(StoreError::Unavailable { .. })));
/// # });
/// ```
pub type FaultStore = LayeredStore<FaultLayer>;

/// A [`StoreLayer`] that can take the store down (every call fails and every watch ends), drop
/// all open watches, or make binds slow or failing; everything else passes through unchanged.
pub struct FaultLayer {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

struct State {
    down: bool,
    /// Set (and replaced) to end every watch opened before.
    watches: Latch,
    bind: BindFaults,
    rng: SimRng,
}

impl FaultLayer {
    /// A layer that lets everything through until told otherwise; `rng` decides which binds fail.
    pub fn new(clock: Arc<dyn Clock>, rng: SimRng) -> Self {
        FaultLayer {
            clock,
            state: Mutex::new(State { down: false, watches: Latch::new(), bind: BindFaults::default(), rng }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the store down (every call fails with `Unavailable`, open watches end) or back up.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
        if down {
            self.disconnect_watches();
        }
    }

    /// Whether the store is down.
    pub fn is_down(&self) -> bool {
        self.lock().down
    }

    /// Ends every open watch stream (clients see their stream end and must resume).
    pub fn disconnect_watches(&self) {
        let old = std::mem::replace(&mut self.lock().watches, Latch::new());
        old.set();
    }

    /// Sets how binds misbehave from now on (`BindFaults::default()` for none).
    pub fn set_bind_faults(&self, faults: BindFaults) {
        self.lock().bind = faults;
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.lock().down {
            Err(StoreError::Unavailable { message: "simulated store outage".into() })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl StoreLayer for FaultLayer {
    fn admit(&self, _: &StoreCall<'_>) -> Result<(), StoreError> {
        self.check()
    }

    async fn bind(
        &self,
        inner: &dyn ObjectStore,
        ns: &str,
        pod: &str,
        node: &str,
    ) -> Result<DynamicObject, StoreError> {
        let (faults, fail_before, fail_after) = {
            let mut st = self.lock();
            let f = st.bind;
            let before = f.fail_before > 0.0 && st.rng.chance(f.fail_before);
            let after = f.fail_after > 0.0 && st.rng.chance(f.fail_after);
            (f, before, after)
        };
        if !faults.delay.is_zero() {
            self.clock.sleep(faults.delay).await;
            self.check()?;
        }
        if fail_before {
            return Err(StoreError::Unavailable { message: "simulated bind failure".into() });
        }
        let bound = inner.bind(ns, pod, node).await?;
        if fail_after {
            return Err(StoreError::Unavailable { message: "simulated lost bind response".into() });
        }
        Ok(bound)
    }

    async fn watch(
        &self,
        inner: &dyn ObjectStore,
        rt: &ResourceType,
        ns: Option<&str>,
        p: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        let end = self.lock().watches.clone();
        let stream = inner.watch(rt, ns, p).await?;
        Ok(stream.take_until(async move { end.wait().await }).boxed())
    }
}
