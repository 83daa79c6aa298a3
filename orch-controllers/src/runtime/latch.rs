//! `Latch`: a one-way async signal (shutdown, "cache synced"), without any runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A flag that goes from unset to set exactly once; any number of tasks can wait for it.
///
/// Used for shutdown (graceful stop of controllers and reflectors) and for "the cache has
/// synced". Clones share one flag.
///
/// ```
/// use orch_controllers::Latch;
/// let stop = Latch::new();
/// let waiter = stop.clone();
/// assert!(!waiter.is_set());
/// stop.set();
/// futures::executor::block_on(waiter.wait());
/// assert!(waiter.is_set());
/// ```
#[derive(Clone, Default)]
pub struct Latch {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    set: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl std::fmt::Debug for Latch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latch").field("set", &self.is_set()).finish()
    }
}

impl Latch {
    /// An unset latch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the latch and wakes every waiter; setting twice is harmless.
    pub fn set(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.inner.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for w in wakers {
            w.wake();
        }
    }

    /// Whether the latch is set.
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// Completes once the latch is set.
    pub fn wait(&self) -> LatchWait {
        LatchWait { latch: self.clone() }
    }
}

/// The future of [`Latch::wait`].
#[derive(Debug)]
pub struct LatchWait {
    latch: Latch,
}

impl Future for LatchWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.latch.is_set() {
            return Poll::Ready(());
        }
        let mut wakers = self.latch.inner.wakers.lock().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock so a concurrent `set` cannot be missed.
        if self.latch.is_set() {
            return Poll::Ready(());
        }
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn waiters_complete_only_after_set() {
        let latch = Latch::new();
        let mut w = latch.wait();
        assert!((&mut w).now_or_never().is_none());
        latch.set();
        assert!(w.now_or_never().is_some());
    }
}
