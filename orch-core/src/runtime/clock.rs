//! `Clock`: where logic crates get the time and wait, so tests can drive time by hand.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::Timestamp;

/// A source of wall-clock time and timers.
///
/// Logic crates take an `Arc<dyn Clock>` instead of reading the system time, so the same code
/// runs on [`SystemClock`](crate::runtime::SystemClock) in production and on
/// [`ManualClock`](crate::runtime::ManualClock) in deterministic tests.
///
/// # Guarantees
/// A future from `sleep_until(t)` completes once `now() >= t`, and not before.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use orch_core::runtime::{Clock, ManualClock};
///
/// async fn backoff(clock: Arc<dyn Clock>) {
///     clock.sleep(Duration::from_secs(10)).await;
/// }
/// let clock = ManualClock::new();
/// let start = clock.now();
/// let mut fut = Box::pin(backoff(Arc::new(clock.clone())));
/// let waker = futures::task::noop_waker();
/// let mut cx = std::task::Context::from_waker(&waker);
/// assert!(fut.as_mut().poll(&mut cx).is_pending());
/// clock.advance(Duration::from_secs(10));
/// assert!(fut.as_mut().poll(&mut cx).is_ready());
/// assert_eq!(clock.now(), start + Duration::from_secs(10));
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()>;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleep_until(self.now() + duration)
    }
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Clock) {}
