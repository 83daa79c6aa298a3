//! `Runtime`: the clock and spawner every part of the reconcile runtime runs on, and a timeout helper.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{Either, select};
use orch_core::runtime::{Clock, Spawn};

/// Where time comes from and where background tasks run.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::runtime::{DeterministicExecutor, ManualClock};
/// use orch_controllers::Runtime;
/// let exec = DeterministicExecutor::new();
/// let rt = Runtime::new(Arc::new(ManualClock::new()), Arc::new(exec.clone()));
/// rt.spawn("noop", async {});
/// assert_eq!(exec.run_until_stalled(), 1);
/// ```
#[derive(Clone)]
pub struct Runtime {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The spawner.
    pub spawn: Arc<dyn Spawn>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("now", &self.clock.now()).finish()
    }
}

impl Runtime {
    /// A runtime from a clock and a spawner.
    pub fn new(clock: Arc<dyn Clock>, spawn: Arc<dyn Spawn>) -> Self {
        Runtime { clock, spawn }
    }

    /// The system clock and the current tokio runtime (feature `tokio`).
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::runtime::Handle::current` does).
    #[cfg(feature = "tokio")]
    pub fn tokio() -> Self {
        Runtime::new(Arc::new(orch_core::runtime::SystemClock), Arc::new(orch_core::runtime::TokioSpawn::current()))
    }

    /// Runs `fut` in the background.
    pub fn spawn(&self, name: &str, fut: impl Future<Output = ()> + Send + 'static) {
        self.spawn.spawn_boxed(name, Box::pin(fut));
    }

    /// Runs `fut` for at most `limit`; `None` when the time ran out (the future is dropped).
    pub async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Option<F::Output> {
        let fut = std::pin::pin!(fut);
        match select(fut, self.clock.sleep(limit)).await {
            Either::Left((v, _)) => Some(v),
            Either::Right(_) => None,
        }
    }
}
