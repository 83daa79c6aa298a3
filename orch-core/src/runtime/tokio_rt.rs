//! Tokio implementations of `Clock` and `Spawn` (feature `tokio`).

use futures::future::BoxFuture;

use super::{Clock, Spawn};
use crate::Timestamp;

/// The system's wall clock, with tokio timers.
///
/// ```
/// use orch_core::runtime::{Clock, SystemClock};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let before = SystemClock.now();
/// SystemClock.sleep(std::time::Duration::from_millis(1)).await;
/// assert!(SystemClock.now() > before);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let wait = deadline.saturating_duration_since(Timestamp::now());
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Spawns onto a tokio runtime.
///
/// ```
/// use orch_core::runtime::{Spawn, TokioSpawn};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (tx, rx) = tokio::sync::oneshot::channel();
/// TokioSpawn::current().spawn_boxed("demo", Box::pin(async move { let _ = tx.send(1); }));
/// assert_eq!(rx.await.unwrap(), 1);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TokioSpawn {
    handle: tokio::runtime::Handle,
}

impl TokioSpawn {
    /// Spawns onto the runtime this is called from.
    ///
    /// # Panics
    /// Outside a tokio runtime (tokio's own rule for `Handle::current`).
    pub fn current() -> Self {
        TokioSpawn { handle: tokio::runtime::Handle::current() }
    }

    /// Spawns onto the given runtime.
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        TokioSpawn { handle }
    }
}

impl Spawn for TokioSpawn {
    fn spawn_boxed(&self, _name: &str, future: BoxFuture<'static, ()>) {
        self.handle.spawn(future);
    }
}
