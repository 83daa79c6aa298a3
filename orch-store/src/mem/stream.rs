//! `MemWatchStream`: the consumer side of one watcher; it drains the watcher's buffer and, when
//! the watcher is unsynced, catches it up from history itself (so a slow consumer costs nothing
//! until it polls).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use crate::kv::{KvError, WatchMessage};

use super::hub::{WatcherCell, lock};
use super::store::Shared;

/// Catch-up steps per poll before yielding to other tasks.
const STEPS_PER_POLL: usize = 16;

pub(crate) struct MemWatchStream {
    pub shared: Arc<Shared>,
    pub cell: Arc<WatcherCell>,
    pub done: bool,
}

impl Stream for MemWatchStream {
    type Item = Result<WatchMessage, KvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        for _ in 0..STEPS_PER_POLL {
            {
                let mut st = lock(&this.cell.state);
                if !st.events.is_empty() {
                    return Poll::Ready(Some(Ok(WatchMessage::Events(std::mem::take(&mut st.events)))));
                }
                if let Some(revision) = st.progress.take() {
                    return Poll::Ready(Some(Ok(WatchMessage::Progress { revision })));
                }
                if st.synced {
                    st.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
            match this.shared.catch_up(&this.cell) {
                Ok(events) if events.is_empty() => continue,
                Ok(events) => return Poll::Ready(Some(Ok(WatchMessage::Events(events)))),
                Err(e) => {
                    this.done = true;
                    this.shared.remove_watcher(&this.cell);
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for MemWatchStream {
    fn drop(&mut self) {
        self.shared.remove_watcher(&self.cell);
    }
}
