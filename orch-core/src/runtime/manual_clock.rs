//! `ManualClock`: time that moves only when a test moves it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::BoxFuture;

use super::Clock;
use crate::Timestamp;

/// A clock that stands still until [`advance`](ManualClock::advance) or [`set`](ManualClock::set)
/// moves it; sleepers wake exactly when their deadline is reached. Clones share one time.
///
/// It starts at 2024-01-01T00:00:00Z so timestamps look realistic.
///
/// ```
/// use std::time::Duration;
/// use orch_core::runtime::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// let _sleep = clock.sleep(Duration::from_secs(5));
/// assert_eq!(clock.next_deadline(), Some(t0 + Duration::from_secs(5)));
/// clock.advance_to_next_deadline();
/// assert_eq!(clock.now(), t0 + Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    now: Timestamp,
    next_id: u64,
    timers: BTreeMap<(Timestamp, u64), Option<Waker>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock").field("now", &self.now()).finish()
    }
}

impl ManualClock {
    /// A clock at 2024-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::starting_at(Timestamp::from_unix(1_704_067_200, 0))
    }

    /// A clock at the given time.
    pub fn starting_at(t: Timestamp) -> Self {
        ManualClock { inner: Arc::new(Mutex::new(State { now: t, ..Default::default() })) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    pub fn advance(&self, d: Duration) {
        let now = self.lock().now + d;
        self.set(now);
    }

    /// Sets the time (it may jump backwards, as a real clock can) and wakes due sleepers.
    pub fn set(&self, t: Timestamp) {
        let wakers: Vec<Waker> = {
            let mut st = self.lock();
            st.now = t;
            let due: Vec<(Timestamp, u64)> = st.timers.range(..=(t, u64::MAX)).map(|(k, _)| *k).collect();
            due.into_iter().filter_map(|k| st.timers.get_mut(&k).and_then(Option::take)).collect()
        };
        for w in wakers {
            w.wake();
        }
    }

    /// The earliest deadline of a pending sleeper.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let st = self.lock();
        st.timers.keys().map(|(t, _)| *t).find(|t| *t > st.now)
    }

    /// Jumps to the earliest pending deadline, if any; returns whether time moved.
    pub fn advance_to_next_deadline(&self) -> bool {
        match self.next_deadline() {
            Some(t) => {
                self.set(t);
                true
            }
            None => false,
        }
    }

    /// The number of sleepers still waiting.
    pub fn pending_timers(&self) -> usize {
        let st = self.lock();
        st.timers.keys().filter(|(t, _)| *t > st.now).count()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.lock().now
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let id = {
            let mut st = self.lock();
            st.next_id += 1;
            let id = st.next_id;
            st.timers.insert((deadline, id), None);
            id
        };
        Box::pin(ManualSleep { clock: self.clone(), key: (deadline, id) })
    }
}

struct ManualSleep {
    clock: ManualClock,
    key: (Timestamp, u64),
}

impl Future for ManualSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.clock.lock();
        if st.now >= self.key.0 {
            st.timers.remove(&self.key);
            Poll::Ready(())
        } else {
            st.timers.insert(self.key, Some(cx.waker().clone()));
            Poll::Pending
        }
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        self.clock.lock().timers.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn sleeper_wakes_exactly_at_deadline() {
        let clock = ManualClock::new();
        let mut s = clock.sleep(Duration::from_secs(2));
        assert!(s.as_mut().now_or_never().is_none());
        clock.advance(Duration::from_millis(1999));
        assert!(s.as_mut().now_or_never().is_none());
        clock.advance(Duration::from_millis(1));
        assert!(s.as_mut().now_or_never().is_some());
        assert_eq!(clock.pending_timers(), 0);
    }

    #[test]
    fn dropped_sleeper_leaves_no_timer() {
        let clock = ManualClock::new();
        drop(clock.sleep(Duration::from_secs(1)));
        assert_eq!(clock.next_deadline(), None);
    }

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        a.advance(Duration::from_secs(3));
        assert_eq!(a.now(), b.now());
    }
}
