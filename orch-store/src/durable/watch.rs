//! Watch streams of `DurableKv`: each reads durable changes from the core's history, woken
//! whenever the durable revision advances, so a slow watcher only ever costs itself.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{Either, select};
use orch_core::runtime::Clock;

use super::engine::Engine;
use crate::kv::{KvError, KvWatchStream, WatchMessage, WatchRequest};

/// Most events per message (whole revisions are never split, so a message may hold more).
const MAX_EVENTS: usize = 1000;
/// Most history entries looked at per step, so the state lock is held briefly.
const MAX_SCAN: usize = 50_000;

struct Cursor {
    engine: Weak<Engine>,
    req: WatchRequest,
    next: i64,
    wake: mpsc::Receiver<()>,
    clock: Arc<dyn Clock>,
    progress: Duration,
    done: bool,
}

/// Opens a watch stream on `engine`.
///
/// # Errors
/// `InvalidRequest` for an empty key; `Compacted` when `start_revision` is below the compaction
/// revision; the store's failure if it has failed or closed.
pub(crate) fn open(engine: &Arc<Engine>, req: WatchRequest) -> Result<KvWatchStream, KvError> {
    if req.range.start.is_empty() && req.range.end.is_empty() {
        return Err(KvError::InvalidRequest { reason: "watch key must not be empty".into() });
    }
    let (tx, wake) = mpsc::channel(0);
    let next = {
        let st = engine.shared.read();
        if let Some(e) = st.failed() {
            return Err(e.clone());
        }
        let compacted = st.core.compact_revision();
        if req.start_revision != 0 && req.start_revision < compacted {
            return Err(KvError::Compacted { requested: req.start_revision, compacted });
        }
        // Registered under the state lock: no durable advance after this read is missed.
        engine.shared.watchers.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        if req.start_revision == 0 { st.visible + 1 } else { req.start_revision }
    };
    let cursor = Cursor {
        engine: Arc::downgrade(engine),
        next,
        wake,
        clock: engine.clock.clone(),
        progress: engine.config.progress_interval,
        req,
        done: false,
    };
    Ok(futures::stream::unfold(cursor, step).boxed())
}

async fn step(mut c: Cursor) -> Option<(Result<WatchMessage, KvError>, Cursor)> {
    if c.done {
        return None;
    }
    loop {
        let batch = {
            let engine = c.engine.upgrade()?;
            let st = engine.shared.read();
            if st.failed().is_some() {
                return None;
            }
            (c.next <= st.visible)
                .then(|| st.core.changes(&c.req.range, c.next, st.visible, c.req.prev_kv, MAX_EVENTS, MAX_SCAN))
        };
        match batch {
            Some(Err(e)) => {
                c.done = true;
                return Some((Err(e), c));
            }
            Some(Ok(b)) => {
                c.next = b.next_revision;
                if !b.changes.is_empty() {
                    let events = b.changes.iter().map(|ch| ch.to_event(c.req.prev_kv)).collect();
                    return Some((Ok(WatchMessage::Events(events)), c));
                }
            }
            None => {
                let woke = if c.req.progress_notify {
                    match select(c.wake.next(), c.clock.sleep(c.progress)).await {
                        Either::Left((Some(()), _)) => Some(true),
                        Either::Left((None, _)) => None,
                        Either::Right(_) => Some(false),
                    }
                } else {
                    c.wake.next().await.map(|()| true)
                };
                match woke {
                    None => return None,
                    Some(true) => {}
                    Some(false) => {
                        let engine = c.engine.upgrade()?;
                        let visible = engine.shared.read().visible;
                        let revision = visible.min(c.next - 1);
                        return Some((Ok(WatchMessage::Progress { revision }), c));
                    }
                }
            }
        }
    }
}
