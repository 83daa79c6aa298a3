//! A watch's byte-bounded queue between the store and the client; a client that stops reading loses its watch.
//!
//! A pump task drains the store's watch stream as fast as it produces, encodes each event once
//! and queues the line for the connection. The queue holds at most `watch_queue_bytes`; when it
//! is full the pump waits up to `watch_slow_timeout` for the client to read. If the client makes
//! no room in that time the watch is a slow consumer: the pump drops the store stream and closes
//! the connection (what kube-apiserver does), so the client resumes from the last
//! resourceVersion it received, and nothing of that watch stays buffered in the server.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use orch_core::store::{WatchEvent, WatchStream};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::connections::Connection;

/// How a watch's queue is bounded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueLimits {
    /// Encoded bytes queued at most (a single larger line is let through alone).
    pub bytes: usize,
    /// How long a full queue waits for the client before the watch is ended.
    pub slow_timeout: Duration,
}

/// What a slow consumer's watch ends with when the connection cannot simply be closed (the
/// router embedded in another server): an error that makes hyper abort the response.
#[derive(Debug, thiserror::Error)]
#[error("watch ended: the client did not read for {0:?} with its queue full")]
pub(crate) struct SlowConsumer(Duration);

/// One queued line; its bytes leave the gauge (and its permit the queue) when it is dropped.
struct Queued {
    line: Bytes,
    size: i64,
    gauge: Gauge,
    _room: OwnedSemaphorePermit,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.gauge.dec_by(self.size);
    }
}

enum Item {
    Line(Queued),
    Slow(Duration),
}

/// Starts the pump of `events` and returns the stream of lines for the response body.
/// `on_slow` runs once if the watch is ended as a slow consumer.
pub(crate) fn spawn_pump<E>(
    events: WatchStream,
    encode: E,
    limits: QueueLimits,
    gauge: Gauge,
    connection: Option<Arc<Connection>>,
    on_slow: impl FnOnce() + Send + 'static,
) -> LineStream
where
    E: Fn(&WatchEvent) -> Bytes + Send + 'static,
{
    let capacity = u32::try_from(limits.bytes).unwrap_or(u32::MAX).clamp(1, u32::MAX >> 4);
    let room = Arc::new(Semaphore::new(capacity as usize));
    let (tx, rx) = mpsc::unbounded_channel();
    let pump = pump(events, encode, limits, capacity, room.clone(), gauge, tx, connection, on_slow);
    tokio::spawn(pump);
    LineStream { rx, room }
}

#[allow(clippy::too_many_arguments)]
async fn pump<E>(
    mut events: WatchStream,
    encode: E,
    limits: QueueLimits,
    capacity: u32,
    room: Arc<Semaphore>,
    gauge: Gauge,
    tx: mpsc::UnboundedSender<Item>,
    connection: Option<Arc<Connection>>,
    on_slow: impl FnOnce(),
) where
    E: Fn(&WatchEvent) -> Bytes,
{
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = tx.closed() => return,
        };
        let Some(event) = event else { return };
        let line = encode(&event);
        let want = u32::try_from(line.len()).unwrap_or(u32::MAX).clamp(1, capacity);
        let permit = match tokio::time::timeout(limits.slow_timeout, room.clone().acquire_many_owned(want)).await {
            Ok(Ok(permit)) => permit,
            // The response body was dropped: the client went away.
            Ok(Err(_)) => return,
            Err(_) => {
                drop(events);
                on_slow();
                match connection {
                    Some(conn) => conn.close(),
                    None => {
                        let _ = tx.send(Item::Slow(limits.slow_timeout));
                    }
                }
                return;
            }
        };
        let size = i64::try_from(line.len()).unwrap_or(i64::MAX);
        gauge.inc_by(size);
        if tx.send(Item::Line(Queued { line, size, gauge: gauge.clone(), _room: permit })).is_err() {
            return;
        }
    }
}

/// The response body's side of the queue.
pub(crate) struct LineStream {
    rx: mpsc::UnboundedReceiver<Item>,
    room: Arc<Semaphore>,
}

impl Stream for LineStream {
    type Item = Result<Bytes, SlowConsumer>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Item::Line(mut queued))) => Poll::Ready(Some(Ok(std::mem::take(&mut queued.line)))),
            Poll::Ready(Some(Item::Slow(waited))) => Poll::Ready(Some(Err(SlowConsumer(waited)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        // Wakes a pump waiting for room, so it ends at once.
        self.room.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{DynamicObject, ObjectMeta};

    fn events(n: usize) -> (futures::channel::mpsc::UnboundedSender<WatchEvent>, WatchStream) {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        for i in 0..n {
            let obj = DynamicObject::new("v1", "Pod", ObjectMeta::named(format!("p{i}")));
            tx.unbounded_send(WatchEvent::Added(Arc::new(obj))).unwrap();
        }
        (tx, Box::pin(rx))
    }

    fn line_of(ev: &WatchEvent) -> Bytes {
        let name = ev.object().and_then(|o| o.metadata.name.clone()).unwrap_or_default();
        Bytes::from(format!("{name:<100}\n"))
    }

    #[tokio::test]
    async fn a_reading_client_gets_every_line_in_order() {
        let (_tx, stream) = events(50);
        let limits = QueueLimits { bytes: 300, slow_timeout: Duration::from_secs(5) };
        let lines = spawn_pump(stream, line_of, limits, Gauge::default(), None, || {});
        let got: Vec<_> = lines.take(50).map(|l| l.unwrap()).collect().await;
        assert_eq!(got.len(), 50);
        assert!(got[49].starts_with(b"p49 "));
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_ended_with_its_queue_bounded() {
        let (tx, stream) = events(100);
        let gauge = Gauge::default();
        let limits = QueueLimits { bytes: 1000, slow_timeout: Duration::from_millis(100) };
        let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = slow.clone();
        let on_slow = move || flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut lines = spawn_pump(stream, line_of, limits, gauge.clone(), None, on_slow);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(slow.load(std::sync::atomic::Ordering::SeqCst), "ended as a slow consumer");
        assert!(gauge.get() <= 1000, "queued {} bytes", gauge.get());
        assert!(tx.is_closed(), "the store stream was dropped");
        let mut ok = 0;
        let mut ended_with_error = false;
        while let Some(item) = lines.next().await {
            match item {
                Ok(_) => ok += 1,
                Err(_) => ended_with_error = true,
            }
        }
        assert_eq!((ok, ended_with_error), (9, true));
        assert_eq!(gauge.get(), 0);
    }
}
