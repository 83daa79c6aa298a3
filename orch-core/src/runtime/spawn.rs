//! `Spawn`: how logic crates start background work without naming an executor.

use futures::future::BoxFuture;

/// Starts a background task on some executor.
///
/// Controllers, the scheduler and the store take an `Arc<dyn Spawn>`, so they run on tokio
/// ([`TokioSpawn`](crate::runtime::TokioSpawn)), on the deterministic single-threaded
/// [`DeterministicExecutor`](crate::runtime::DeterministicExecutor) in simulations, or on any
/// executor a user wraps.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use orch_core::runtime::{DeterministicExecutor, Spawn};
///
/// let exec = DeterministicExecutor::new();
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = done.clone();
/// exec.spawn_boxed("set-flag", Box::pin(async move { flag.store(true, Ordering::SeqCst) }));
/// exec.run_until_stalled();
/// assert!(done.load(Ordering::SeqCst));
/// ```
pub trait Spawn: Send + Sync {
    /// Runs `future` in the background; `name` is for diagnostics.
    fn spawn_boxed(&self, name: &str, future: BoxFuture<'static, ()>);
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Spawn) {}
