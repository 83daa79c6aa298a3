//! `WorkQueue`: deduplicating, one-at-a-time-per-key, delayed and rate-limited queue of keys.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use orch_core::Timestamp;
use orch_core::runtime::Clock;

use super::{Backoff, MetricsSnapshot, QueueMetrics};

struct State<T> {
    ready: VecDeque<T>,
    /// Keys waiting in `ready`, or waiting to go back in when their reconcile ends.
    dirty: BTreeSet<T>,
    processing: BTreeSet<T>,
    delayed: BTreeMap<(Timestamp, u64), T>,
    delayed_at: BTreeMap<T, (Timestamp, u64)>,
    failures: BTreeMap<T, u32>,
    waiters: Vec<Waker>,
    seq: u64,
    shut_down: bool,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    metrics: Arc<QueueMetrics>,
}

/// A queue of keys with the guarantees a controller needs:
/// - a key queued twice before it is taken is processed once;
/// - a key is never handed to two workers at once (re-added while processing, it comes back
///   after [`done`](Self::done));
/// - [`add_after`](Self::add_after) delays a key; [`add_rate_limited`](Self::add_rate_limited)
///   delays it exponentially per key until [`forget`](Self::forget) resets it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use orch_controllers::WorkQueue;
/// use orch_core::runtime::ManualClock;
/// let q = WorkQueue::new(Arc::new(ManualClock::new()), Duration::from_millis(5), Duration::from_secs(60));
/// q.add("a");
/// q.add("a");
/// assert_eq!(q.len(), 1);
/// let key = futures::executor::block_on(q.next()).unwrap();
/// q.add("a"); // while processing: held back
/// assert_eq!(q.len(), 0);
/// q.done(&key);
/// assert_eq!(q.len(), 1);
/// ```
pub struct WorkQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        WorkQueue { inner: self.inner.clone() }
    }
}

impl<T: Clone + Ord + Send + 'static> WorkQueue<T> {
    /// An empty queue; failures back off from `initial_backoff` doubling to `max_backoff`.
    pub fn new(clock: Arc<dyn Clock>, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self::with_metrics(clock, initial_backoff, max_backoff, Arc::default())
    }

    /// Like [`new`](Self::new), counting into `metrics` (shared, for example, across restarts).
    pub fn with_metrics(
        clock: Arc<dyn Clock>,
        initial_backoff: Duration,
        max_backoff: Duration,
        metrics: Arc<QueueMetrics>,
    ) -> Self {
        WorkQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    ready: VecDeque::new(),
                    dirty: BTreeSet::new(),
                    processing: BTreeSet::new(),
                    delayed: BTreeMap::new(),
                    delayed_at: BTreeMap::new(),
                    failures: BTreeMap::new(),
                    waiters: Vec::new(),
                    seq: 0,
                    shut_down: false,
                }),
                clock,
                backoff: Backoff::new(initial_backoff, max_backoff),
                metrics,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` now.
    pub fn add(&self, key: T) {
        let wakers = {
            let mut st = self.lock();
            if !self.push(&mut st, key) {
                return;
            }
            std::mem::take(&mut st.waiters)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Files `key` as dirty (and ready unless processing); false when nothing changed.
    fn push(&self, st: &mut State<T>, key: T) -> bool {
        if st.shut_down || st.dirty.contains(&key) {
            return false;
        }
        if let Some(at) = st.delayed_at.remove(&key) {
            st.delayed.remove(&at);
        }
        self.inner.metrics.add();
        st.dirty.insert(key.clone());
        if !st.processing.contains(&key) {
            st.ready.push_back(key);
        }
        true
    }

    /// Queues `key` once `delay` has passed (an earlier pending time for the key wins).
    pub fn add_after(&self, key: T, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let wakers = {
            let mut st = self.lock();
            if st.shut_down || st.dirty.contains(&key) {
                return;
            }
            let at = self.inner.clock.now() + delay;
            if let Some(prev) = st.delayed_at.get(&key) {
                if prev.0 <= at {
                    return;
                }
                let prev = *prev;
                st.delayed.remove(&prev);
            }
            st.seq += 1;
            let slot = (at, st.seq);
            st.delayed.insert(slot, key.clone());
            st.delayed_at.insert(key, slot);
            std::mem::take(&mut st.waiters)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Queues `key` after its next backoff delay (counting a retry).
    pub fn add_rate_limited(&self, key: T) {
        let delay = {
            let mut st = self.lock();
            let n = st.failures.entry(key.clone()).or_insert(0);
            let d = self.inner.backoff.delay_for(*n);
            *n = n.saturating_add(1);
            d
        };
        self.inner.metrics.retry();
        self.add_after(key, delay);
    }

    /// Resets the backoff of `key` (after a success).
    pub fn forget(&self, key: &T) {
        self.lock().failures.remove(key);
    }

    /// Failures of `key` since its last [`forget`](Self::forget).
    pub fn failures(&self, key: &T) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Marks the processing of `key` finished; if it was re-added meanwhile it is queued again.
    pub fn done(&self, key: &T) {
        let wakers = {
            let mut st = self.lock();
            st.processing.remove(key);
            if st.dirty.contains(key) && !st.shut_down {
                st.ready.push_back(key.clone());
                std::mem::take(&mut st.waiters)
            } else {
                Vec::new()
            }
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Keys ready to be taken now.
    pub fn len(&self) -> usize {
        self.lock().ready.len()
    }

    /// Whether no key is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys waiting for a delay.
    pub fn delayed_len(&self) -> usize {
        self.lock().delayed.len()
    }

    /// Keys being processed.
    pub fn processing_len(&self) -> usize {
        self.lock().processing.len()
    }

    /// Stops handing out keys: [`next`](Self::next) returns `None` from now on.
    pub fn shut_down(&self) {
        let wakers = {
            let mut st = self.lock();
            st.shut_down = true;
            std::mem::take(&mut st.waiters)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The counters.
    pub fn metrics(&self) -> &QueueMetrics {
        &self.inner.metrics
    }

    /// A snapshot of the counters with the current depth.
    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot(self.len())
    }

    /// The next key to process (marked processing until [`done`](Self::done)); `None` after shutdown.
    pub fn next(&self) -> Next<T> {
        Next { queue: self.clone(), sleep: None }
    }

    /// Moves due delayed keys into the ready queue; returns the earliest remaining deadline.
    fn promote(&self, st: &mut State<T>) -> Option<Timestamp> {
        let now = self.inner.clock.now();
        while let Some((&slot, _)) = st.delayed.first_key_value() {
            if slot.0 > now {
                return Some(slot.0);
            }
            if let Some(key) = st.delayed.remove(&slot) {
                st.delayed_at.remove(&key);
                self.push(st, key);
            }
        }
        None
    }
}

/// The future of [`WorkQueue::next`].
pub struct Next<T> {
    queue: WorkQueue<T>,
    sleep: Option<(Timestamp, BoxFuture<'static, ()>)>,
}

impl<T: Clone + Ord + Send + 'static> Future for Next<T> {
    type Output = Option<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            let deadline = {
                let q = self.queue.clone();
                let mut st = q.lock();
                if st.shut_down {
                    return Poll::Ready(None);
                }
                let deadline = q.promote(&mut st);
                if let Some(key) = st.ready.pop_front() {
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    return Poll::Ready(Some(key));
                }
                if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    st.waiters.push(cx.waker().clone());
                }
                deadline
            };
            let Some(deadline) = deadline else {
                self.sleep = None;
                return Poll::Pending;
            };
            if self.sleep.as_ref().is_none_or(|(at, _)| *at != deadline) {
                let fut = self.queue.inner.clock.sleep_until(deadline);
                self.sleep = Some((deadline, fut));
            }
            let Some((_, sleep)) = self.sleep.as_mut() else { return Poll::Pending };
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use orch_core::runtime::ManualClock;

    fn queue(clock: &ManualClock) -> WorkQueue<&'static str> {
        WorkQueue::new(Arc::new(clock.clone()), Duration::from_secs(1), Duration::from_secs(8))
    }

    #[test]
    fn delayed_keys_appear_when_their_time_comes() {
        let clock = ManualClock::new();
        let q = queue(&clock);
        q.add_after("a", Duration::from_secs(5));
        let mut next = q.next();
        assert!((&mut next).now_or_never().is_none());
        clock.advance(Duration::from_secs(5));
        assert_eq!(next.now_or_never(), Some(Some("a")));
    }

    #[test]
    fn an_immediate_add_replaces_a_pending_delay() {
        let clock = ManualClock::new();
        let q = queue(&clock);
        q.add_after("a", Duration::from_secs(5));
        q.add("a");
        assert_eq!(q.next().now_or_never(), Some(Some("a")));
        assert_eq!(q.delayed_len(), 0);
    }

    #[test]
    fn rate_limited_delays_double_per_key_and_reset_on_forget() {
        let clock = ManualClock::new();
        let q = queue(&clock);
        let t0 = clock.now();
        let mut seen = Vec::new();
        for _ in 0..5 {
            q.add_rate_limited("a");
            let mut next = q.next();
            let key = loop {
                if let Some(k) = (&mut next).now_or_never().flatten() {
                    break k;
                }
                assert!(clock.advance_to_next_deadline(), "the pending delay is a clock timer");
            };
            seen.push(clock.now().saturating_duration_since(t0).as_secs());
            q.done(&key);
        }
        assert_eq!(seen, vec![1, 3, 7, 15, 23]);
        q.forget(&"a");
        assert_eq!(q.failures(&"a"), 0);
    }

    #[test]
    fn shutdown_ends_next() {
        let clock = ManualClock::new();
        let q = queue(&clock);
        q.add("a");
        q.shut_down();
        assert_eq!(q.next().now_or_never(), Some(None));
    }
}
