//! `DeterministicExecutor`: a single-threaded executor that polls tasks in a reproducible order.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures::future::BoxFuture;

use super::Spawn;

/// Runs spawned tasks on the calling thread, in FIFO order of wake-ups, so the same inputs
/// give the same interleaving every run. Pair it with [`ManualClock`](super::ManualClock).
///
/// ```
/// use orch_core::runtime::{DeterministicExecutor, Spawn};
/// let exec = DeterministicExecutor::new();
/// let (tx, rx) = futures::channel::oneshot::channel();
/// exec.spawn_boxed("send", Box::pin(async move { let _ = tx.send(7); }));
/// assert_eq!(exec.block_on(async { rx.await.unwrap() }), 7);
/// ```
#[derive(Clone, Default)]
pub struct DeterministicExecutor {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each task with its one waker (reused on every poll, so `Waker::will_wake` holds and
    /// wait lists that keep one waker per task stay small).
    tasks: Mutex<BTreeMap<u64, Task>>,
    /// Tasks to poll, each at most once: waking a queued task again does not queue it twice.
    ready: Mutex<VecDeque<u64>>,
    next_id: Mutex<u64>,
}

struct Task {
    future: BoxFuture<'static, ()>,
    waker: Waker,
    state: Arc<TaskWaker>,
    /// The name it was spawned with, and its polls since the counts were last taken.
    name: Arc<str>,
    polls: u64,
}

struct TaskWaker {
    id: u64,
    /// Whether the task is in the ready queue (cleared just before it is polled).
    queued: AtomicBool,
    /// Weak: the task map holds this waker, which must not keep the executor alive.
    exec: std::sync::Weak<Inner>,
}

impl TaskWaker {
    fn schedule(&self, exec: &Inner) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            lock(&exec.ready).push_back(self.id);
        }
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(exec) = self.exec.upgrade() {
            self.schedule(&exec);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DeterministicExecutor {
    /// An executor with no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Polls ready tasks until none is ready; returns how many polls were made.
    pub fn run_until_stalled(&self) -> usize {
        self.run_at_most(usize::MAX)
    }

    /// Like [`run_until_stalled`](Self::run_until_stalled), but stops after `max_polls`
    /// polls, so a caller can tell tasks that keep waking each other (a livelock, which
    /// never stalls) from ones that merely have a lot to do: after it returns `max_polls`,
    /// [`has_ready`](Self::has_ready) says whether work was left.
    ///
    /// ```
    /// use orch_core::runtime::{DeterministicExecutor, Spawn};
    /// let exec = DeterministicExecutor::new();
    /// exec.spawn_boxed("spin", Box::pin(futures::future::poll_fn(|cx| {
    ///     cx.waker().wake_by_ref(); // wakes itself forever
    ///     std::task::Poll::<()>::Pending
    /// })));
    /// assert_eq!(exec.run_at_most(1_000), 1_000);
    /// assert!(exec.has_ready(), "it never stalls");
    /// ```
    pub fn run_at_most(&self, max_polls: usize) -> usize {
        let mut polls = 0;
        while polls < max_polls {
            let Some(id) = lock(&self.inner.ready).pop_front() else { break };
            let Some(mut task) = lock(&self.inner.tasks).remove(&id) else { continue };
            task.state.queued.store(false, Ordering::SeqCst);
            task.polls += 1;
            polls += 1;
            if task.future.as_mut().poll(&mut Context::from_waker(&task.waker)).is_pending() {
                lock(&self.inner.tasks).insert(id, task);
            }
        }
        polls
    }

    /// Whether some task is waiting to be polled.
    pub fn has_ready(&self) -> bool {
        !lock(&self.inner.ready).is_empty()
    }

    /// Polls per task name since the last call (or the spawn), busiest first, and starts
    /// counting again: after a livelock, a short run between two calls names the tasks that
    /// keep waking each other.
    ///
    /// ```
    /// use orch_core::runtime::{DeterministicExecutor, Spawn};
    /// let exec = DeterministicExecutor::new();
    /// exec.spawn_boxed("spin", Box::pin(futures::future::poll_fn(|cx| {
    ///     cx.waker().wake_by_ref();
    ///     std::task::Poll::<()>::Pending
    /// })));
    /// exec.spawn_boxed("idle", Box::pin(futures::future::pending::<()>()));
    /// exec.run_at_most(10);
    /// assert_eq!(exec.take_poll_counts(), vec![("spin".to_string(), 9), ("idle".to_string(), 1)]);
    /// assert_eq!(exec.take_poll_counts(), vec![], "counting starts again");
    /// ```
    pub fn take_poll_counts(&self) -> Vec<(String, u64)> {
        let mut by_name: BTreeMap<Arc<str>, u64> = BTreeMap::new();
        for task in lock(&self.inner.tasks).values_mut() {
            if task.polls > 0 {
                *by_name.entry(task.name.clone()).or_default() += std::mem::take(&mut task.polls);
            }
        }
        let mut counts: Vec<(String, u64)> = by_name.into_iter().map(|(n, c)| (n.to_string(), c)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// Runs `fut` to completion on this thread, running spawned tasks whenever it waits.
    ///
    /// If `fut` and every task are waiting on something that can never happen (for example a
    /// timer of a [`ManualClock`](super::ManualClock) nobody advances), this returns `None`
    /// instead of hanging.
    pub fn try_block_on<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        let woken = Arc::new(AtomicBool::new(true));
        struct Flag(Arc<AtomicBool>);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let waker = Waker::from(Arc::new(Flag(woken.clone())));
        loop {
            if woken.swap(false, Ordering::SeqCst)
                && let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker))
            {
                return Some(v);
            }
            let polls = self.run_until_stalled();
            if polls == 0 && !woken.load(Ordering::SeqCst) {
                return None;
            }
        }
    }

    /// Like [`try_block_on`](Self::try_block_on), for tests and simulations.
    ///
    /// # Panics
    /// When every task is waiting and nothing can wake them (a stall); use
    /// [`try_block_on`](Self::try_block_on) to get `None` instead.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        match self.try_block_on(fut) {
            Some(v) => v,
            None => panic!("DeterministicExecutor::block_on: every task is waiting and nothing can wake them"),
        }
    }

    /// Tasks not yet finished.
    pub fn task_count(&self) -> usize {
        lock(&self.inner.tasks).len()
    }
}

impl Spawn for DeterministicExecutor {
    fn spawn_boxed(&self, name: &str, future: BoxFuture<'static, ()>) {
        let id = {
            let mut n = lock(&self.inner.next_id);
            *n += 1;
            *n
        };
        let state = Arc::new(TaskWaker { id, queued: AtomicBool::new(false), exec: Arc::downgrade(&self.inner) });
        let waker = Waker::from(state.clone());
        lock(&self.inner.tasks).insert(id, Task { future, waker, state: state.clone(), name: name.into(), polls: 0 });
        state.schedule(&self.inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Clock, ManualClock};
    use std::time::Duration;

    #[test]
    fn tasks_run_in_spawn_order() {
        let exec = DeterministicExecutor::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..5 {
            let log = log.clone();
            exec.spawn_boxed("t", Box::pin(async move { lock(&log).push(i) }));
        }
        exec.run_until_stalled();
        assert_eq!(*lock(&log), vec![0, 1, 2, 3, 4]);
        assert_eq!(exec.task_count(), 0);
    }

    #[test]
    fn timers_of_manual_clock_drive_tasks() {
        let exec = DeterministicExecutor::new();
        let clock = ManualClock::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        for (i, secs) in [(1, 3u64), (2, 1)] {
            let (log, clock2) = (log.clone(), clock.clone());
            exec.spawn_boxed(
                "t",
                Box::pin(async move {
                    clock2.sleep(Duration::from_secs(secs)).await;
                    lock(&log).push(i);
                }),
            );
        }
        exec.run_until_stalled();
        assert!(lock(&log).is_empty());
        while clock.advance_to_next_deadline() {
            exec.run_until_stalled();
        }
        assert_eq!(*lock(&log), vec![2, 1]);
    }

    #[test]
    fn block_on_reports_a_stall_instead_of_hanging() {
        let exec = DeterministicExecutor::new();
        let clock = ManualClock::new();
        assert!(exec.try_block_on(clock.sleep(Duration::from_secs(1))).is_none());
    }
}
