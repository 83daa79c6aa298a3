//! `DeterministicExecutor`: a single-threaded executor that polls tasks in a reproducible order.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
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
    tasks: Mutex<BTreeMap<u64, (BoxFuture<'static, ()>, Waker)>>,
    ready: Mutex<VecDeque<u64>>,
    next_id: Mutex<u64>,
}

struct TaskWaker {
    id: u64,
    /// Weak: the task map holds this waker, which must not keep the executor alive.
    exec: std::sync::Weak<Inner>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        if let Some(exec) = self.exec.upgrade() {
            lock(&exec.ready).push_back(self.id);
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
        let mut polls = 0;
        loop {
            let Some(id) = lock(&self.inner.ready).pop_front() else { return polls };
            let Some((mut fut, waker)) = lock(&self.inner.tasks).remove(&id) else { continue };
            polls += 1;
            if fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending() {
                lock(&self.inner.tasks).insert(id, (fut, waker));
            }
        }
    }

    /// Runs `fut` to completion on this thread, running spawned tasks whenever it waits.
    ///
    /// If `fut` and every task are waiting on something that can never happen (for example a
    /// timer of a [`ManualClock`](super::ManualClock) nobody advances), this returns `None`
    /// instead of hanging.
    pub fn try_block_on<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        let woken = Arc::new(std::sync::atomic::AtomicBool::new(true));
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let waker = Waker::from(Arc::new(Flag(woken.clone())));
        loop {
            if woken.swap(false, std::sync::atomic::Ordering::SeqCst)
                && let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker))
            {
                return Some(v);
            }
            let polls = self.run_until_stalled();
            if polls == 0 && !woken.load(std::sync::atomic::Ordering::SeqCst) {
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
    fn spawn_boxed(&self, _name: &str, future: BoxFuture<'static, ()>) {
        let id = {
            let mut n = lock(&self.inner.next_id);
            *n += 1;
            *n
        };
        let waker = Waker::from(Arc::new(TaskWaker { id, exec: Arc::downgrade(&self.inner) }));
        lock(&self.inner.tasks).insert(id, (future, waker));
        lock(&self.inner.ready).push_back(id);
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
