//! `WatchQueue`: one watcher's bounded event queue; a full queue ends the watcher instead of blocking the sender.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures::Stream;
use futures::future::BoxFuture;
use futures::task::AtomicWaker;
use orch_core::StoreError;
use orch_core::store::WatchEvent;

/// The shared state of a watcher's queue: the hub pushes, the watch stream pops.
pub(super) struct WatchQueue {
    state: Mutex<QueueState>,
    waker: AtomicWaker,
    capacity: usize,
}

struct QueueState {
    events: VecDeque<WatchEvent>,
    closed: bool,
    receiver_gone: bool,
}

/// Why a push failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PushError {
    /// The watcher did not keep up; it has been ended with an error event.
    Overflow,
    /// The watch stream was dropped.
    Gone,
}

impl WatchQueue {
    pub(super) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(WatchQueue {
            state: Mutex::new(QueueState { events: VecDeque::new(), closed: false, receiver_gone: false }),
            waker: AtomicWaker::new(),
            capacity,
        })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes all of `events` (one revision's worth) or none of them. On overflow the watcher is
    /// ended with an error, so it resumes from the last revision it saw completely.
    pub(super) fn push_all(&self, events: Vec<WatchEvent>) -> Result<(), PushError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut st = self.lock();
        if st.receiver_gone {
            return Err(PushError::Gone);
        }
        if st.closed {
            return Ok(());
        }
        if st.events.len() + events.len() > self.capacity {
            st.events.push_back(WatchEvent::Error(StoreError::Unavailable {
                message: "watch ended: the watcher fell behind; resume from the last resourceVersion it received"
                    .into(),
            }));
            st.closed = true;
            drop(st);
            self.waker.wake();
            return Err(PushError::Overflow);
        }
        st.events.extend(events);
        drop(st);
        self.waker.wake();
        Ok(())
    }

    /// Pushes without the capacity check (initial state and replays, sized by the caller).
    pub(super) fn push_unbounded(&self, event: WatchEvent) {
        self.lock().events.push_back(event);
        self.waker.wake();
    }

    /// Ends the watcher after the events already queued, optionally with a final event.
    pub(super) fn close(&self, last: Option<WatchEvent>) {
        let mut st = self.lock();
        if !st.closed {
            if let Some(ev) = last {
                st.events.push_back(ev);
            }
            st.closed = true;
        }
        drop(st);
        self.waker.wake();
    }

    /// Whether the watch stream has been dropped.
    pub(super) fn is_gone(&self) -> bool {
        self.lock().receiver_gone
    }
}

/// The consuming side: a `Stream` of the queued events, ending when the queue is closed and
/// drained, or when the optional deadline passes.
pub(super) struct QueueStream {
    queue: Arc<WatchQueue>,
    deadline: Option<BoxFuture<'static, ()>>,
}

impl QueueStream {
    pub(super) fn new(queue: Arc<WatchQueue>, deadline: Option<BoxFuture<'static, ()>>) -> Self {
        QueueStream { queue, deadline }
    }
}

impl Stream for QueueStream {
    type Item = WatchEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            self.queue.close(None);
            self.queue.lock().events.clear();
            return Poll::Ready(None);
        }
        self.queue.waker.register(cx.waker());
        let mut st = self.queue.lock();
        if let Some(ev) = st.events.pop_front() {
            return Poll::Ready(Some(ev));
        }
        if st.closed { Poll::Ready(None) } else { Poll::Pending }
    }
}

impl Drop for QueueStream {
    fn drop(&mut self) {
        let mut st = self.queue.lock();
        st.receiver_gone = true;
        st.events.clear();
    }
}
