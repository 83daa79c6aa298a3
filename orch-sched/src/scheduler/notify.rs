//! `Notify`: a runtime-free wake-up signal for the scheduling loop (one waiter).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A flag with a waker: `notify` sets it, `notified` completes once it is set and clears it.
#[derive(Debug, Default)]
pub(crate) struct Notify {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Notify {
    fn lock(&self) -> MutexGuard<'_, (bool, Option<Waker>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notify(&self) {
        let waker = {
            let mut s = self.lock();
            s.0 = true;
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn notified(&self) -> Notified<'_> {
        Notified { notify: self }
    }
}

pub(crate) struct Notified<'a> {
    notify: &'a Notify,
}

impl Future for Notified<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.notify.lock();
        if s.0 {
            s.0 = false;
            Poll::Ready(())
        } else {
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Yields once to the executor, so a busy loop lets other tasks (watches, bindings) run.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
