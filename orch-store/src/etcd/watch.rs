//! Watches: one etcd watch (on its own gRPC stream) turned into a [`KvWatchStream`].
//!
//! etcd answers a create request with a `created` response, then sends responses that each hold
//! whole revisions (we never ask for fragments), empty progress notifications, or a final
//! `canceled` response — with `compact_revision` set when the watch needed history that is gone.
//! Dropping the stream drops the gRPC stream, which cancels the watch on the server.

use std::time::Duration;

use etcd_client::proto::{PbEvent, PbWatchResponse};
use etcd_client::{WatchClient, WatchOptions, WatchStream};
use futures::StreamExt;

use super::convert::{header_revision, key_value};
use super::error::{Failure, classify, timeout};
use super::namespace::Namespace;
use super::retry::{Failed, not_applied, with_retries};
use crate::kv::{KvError, KvEvent, KvEventKind, KvWatchStream, WatchMessage, WatchRequest};

/// Opens a watch and waits (up to `limit`) until etcd has created it, so every change after
/// this returns is seen.
pub(crate) async fn open(
    client: WatchClient,
    ns: Namespace,
    req: &WatchRequest,
    limit: Duration,
) -> Result<KvWatchStream, KvError> {
    let (key, end) = ns.range(&req.range)?;
    let mut opts = WatchOptions::new().with_start_revision(req.start_revision);
    if !end.is_empty() {
        opts = opts.with_range(end);
    }
    if req.prev_kv {
        opts = opts.with_prev_key();
    }
    if req.progress_notify {
        opts = opts.with_progress_notify();
    }
    // Creating a watch changes nothing, but only failures before etcd saw it are sent again,
    // as for every other call.
    let created = with_retries(limit, not_applied, || {
        let (mut client, key, opts) = (client.clone(), key.clone(), opts.clone());
        async move {
            let mut stream = client.watch(key, Some(opts)).await?;
            let first = stream.message().await?;
            Ok::<_, etcd_client::Error>((stream, first))
        }
    });
    let (stream, first) = match created.await {
        Err(Failed::TimedOut) => return Err(timeout("watch", limit)),
        Err(Failed::Error(e)) => return Err(watch_error(&e)),
        Ok(pair) => pair,
    };
    let Some(first) = first else {
        return Err(KvError::Unavailable { reason: "etcd closed the watch before creating it".into() });
    };
    let first = first.0;
    if first.canceled {
        return Err(cancelled(&first, req.start_revision));
    }
    // From 0 ("from now") the watch starts after the revision the creation was served at.
    let next = if req.start_revision > 0 { req.start_revision } else { header_revision(first.header.as_ref()) + 1 };
    let state = State { stream: Some(stream), decoder: Decoder { ns, next } };
    Ok(futures::stream::unfold(state, State::step).boxed())
}

/// The state of one open watch; `stream` is `None` once an error has been delivered.
struct State {
    stream: Option<WatchStream>,
    decoder: Decoder,
}

/// Turns etcd's watch responses into ours.
struct Decoder {
    ns: Namespace,
    /// The first revision not yet delivered (for `Compacted::requested`).
    next: i64,
}

impl State {
    async fn step(mut self) -> Option<(Result<WatchMessage, KvError>, State)> {
        let stream = self.stream.as_mut()?;
        loop {
            let item = match stream.message().await {
                Ok(Some(resp)) => match self.decoder.message(resp.0) {
                    Some(item) => item,
                    None => continue,
                },
                Ok(None) => Err(KvError::Unavailable { reason: "etcd closed the watch stream".into() }),
                Err(e) => Err(watch_error(&e)),
            };
            if item.is_err() {
                // The stream ends after an error; dropping the gRPC stream cancels the watch.
                self.stream = None;
            }
            return Some((item, self));
        }
    }
}

impl Decoder {
    /// What one etcd response means for the caller (`None`: nothing, e.g. a late `created`).
    fn message(&mut self, resp: PbWatchResponse) -> Option<Result<WatchMessage, KvError>> {
        if resp.canceled || resp.compact_revision != 0 {
            return Some(Err(cancelled(&resp, self.next)));
        }
        if resp.created {
            return None;
        }
        if resp.events.is_empty() {
            let revision = header_revision(resp.header.as_ref());
            self.next = self.next.max(revision + 1);
            return Some(Ok(WatchMessage::Progress { revision }));
        }
        let mut events = Vec::with_capacity(resp.events.len());
        for event in resp.events {
            match self.event(event) {
                Ok(e) => events.push(e),
                Err(e) => return Some(Err(e)),
            }
        }
        if let Some(last) = events.last() {
            self.next = self.next.max(last.kv.mod_revision + 1);
        }
        Some(Ok(WatchMessage::Events(events)))
    }

    fn event(&self, event: PbEvent) -> Result<KvEvent, KvError> {
        let kind = match event.r#type {
            0 => KvEventKind::Put,
            1 => KvEventKind::Delete,
            other => {
                return Err(KvError::Unavailable {
                    reason: format!("etcd sent a watch event of unknown type {other}"),
                });
            }
        };
        let kv = event
            .kv
            .ok_or_else(|| KvError::Unavailable { reason: "etcd sent a watch event without a key-value".into() })?;
        Ok(KvEvent { kind, kv: key_value(&self.ns, kv), prev_kv: event.prev_kv.map(|kv| key_value(&self.ns, kv)) })
    }
}

/// The error a `canceled` watch response stands for.
fn cancelled(resp: &PbWatchResponse, requested: i64) -> KvError {
    if resp.compact_revision != 0 {
        return KvError::Compacted { requested, compacted: resp.compact_revision };
    }
    let reason =
        if resp.cancel_reason.is_empty() { "cancelled by etcd".to_owned() } else { resp.cancel_reason.clone() };
    if reason.contains("no leader") {
        KvError::Unavailable { reason: format!("etcd watch: {reason}") }
    } else {
        KvError::WatchCancelled { reason }
    }
}

fn watch_error(e: &etcd_client::Error) -> KvError {
    match classify(e, "watch") {
        Failure::Other(err) => err,
        other => KvError::Unavailable { reason: format!("etcd watch failed ({other:?}): {e}") },
    }
}
