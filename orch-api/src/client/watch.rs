//! Watches over HTTP: JSON lines decoded into events, resumed after a dropped connection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use axum::http::Method;
use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use http_body_util::BodyExt;
use orch_core::store::{Status, WatchEvent, WatchParams, WatchStream};
use orch_core::{DynamicObject, ResourceType, StoreError};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::transport::Transport;
use crate::path::ResourcePath;
use crate::query::Query;

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(Deserialize)]
struct BookmarkObject {
    metadata: BookmarkMeta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta {
    resource_version: String,
}

/// Decodes one watch line.
fn decode_line(line: &[u8]) -> Result<WatchEvent, StoreError> {
    let bad = |e: serde_json::Error| StoreError::internal(format!("decoding a watch event: {e}"));
    let wire: WireEvent<'_> = serde_json::from_slice(line).map_err(bad)?;
    let object = || serde_json::from_str::<DynamicObject>(wire.object.get()).map(Arc::new).map_err(bad);
    Ok(match wire.kind {
        "ADDED" => WatchEvent::Added(object()?),
        "MODIFIED" => WatchEvent::Modified(object()?),
        "DELETED" => WatchEvent::Deleted(object()?),
        "BOOKMARK" => {
            let b: BookmarkObject = serde_json::from_str(wire.object.get()).map_err(bad)?;
            WatchEvent::Bookmark { resource_version: b.metadata.resource_version }
        }
        "ERROR" => WatchEvent::Error(serde_json::from_str::<Status>(wire.object.get()).map_err(bad)?.into_error()),
        other => return Err(StoreError::internal(format!("unknown watch event type {other:?}"))),
    })
}

/// Where a watch stands, for resuming it.
struct Resume {
    /// Every event up to this revision has been delivered.
    complete_rv: Option<String>,
    /// The revision being delivered and how many of its events went out.
    partial: Option<(String, usize)>,
}

impl Resume {
    fn delivered(&mut self, event: &WatchEvent) {
        let Some(rv) = event.resource_version() else { return };
        if matches!(event, WatchEvent::Bookmark { .. }) {
            self.complete_rv = Some(rv.to_string());
            self.partial = None;
            return;
        }
        match &mut self.partial {
            Some((cur, n)) if cur == rv => *n += 1,
            _ => {
                if let Some((prev, _)) = self.partial.take() {
                    self.complete_rv = Some(prev);
                }
                self.partial = Some((rv.to_string(), 1));
            }
        }
    }
}

struct State {
    transport: Arc<Transport>,
    rt: ResourceType,
    namespace: Option<String>,
    params: WatchParams,
    deadline: Option<Instant>,
    body: Option<BoxStream<'static, Result<Bytes, String>>>,
    buf: BytesMut,
    ready: VecDeque<WatchEvent>,
    resume: Resume,
    /// Events of the partial revision still to skip after a resume (already delivered).
    skip: Option<(String, usize)>,
    done: bool,
}

async fn open(
    transport: &Transport,
    rt: &ResourceType,
    namespace: Option<&str>,
    params: &WatchParams,
) -> Result<BoxStream<'static, Result<Bytes, String>>, StoreError> {
    let url = format!("{}?{}", ResourcePath::collection(rt, namespace), Query::from_watch(params).encode());
    let resp = transport.send_streaming(Method::GET, &url, None).await?;
    Ok(resp.into_body().into_data_stream().map(|r| r.map_err(|e| e.to_string())).boxed())
}

/// Starts a watch; the first connection's failure is returned as the error.
pub(crate) async fn start(
    transport: Arc<Transport>,
    rt: ResourceType,
    namespace: Option<String>,
    params: WatchParams,
) -> Result<WatchStream, StoreError> {
    let body = open(&transport, &rt, namespace.as_deref(), &params).await?;
    let state = State {
        deadline: params.timeout.map(|t| Instant::now() + t),
        resume: Resume { complete_rv: params.resource_version.clone(), partial: None },
        transport,
        rt,
        namespace,
        params,
        body: Some(body),
        buf: BytesMut::new(),
        ready: VecDeque::new(),
        skip: None,
        done: false,
    };
    Ok(futures::stream::unfold(state, |mut st| async move {
        let event = st.next().await?;
        Some((event, st))
    })
    .boxed())
}

impl State {
    async fn next(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                if self.skip_replayed(&event) {
                    continue;
                }
                self.resume.delivered(&event);
                if matches!(event, WatchEvent::Error(_)) {
                    self.done = true;
                }
                return Some(event);
            }
            if self.done {
                return None;
            }
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                let line = &line[..pos];
                if !line.iter().all(u8::is_ascii_whitespace) {
                    self.ready.push_back(decode_line(line).unwrap_or_else(WatchEvent::Error));
                }
                continue;
            }
            let chunk = match &mut self.body {
                Some(body) => body.next().await,
                None => None,
            };
            match chunk {
                Some(Ok(bytes)) => self.buf.extend_from_slice(bytes.chunk()),
                Some(Err(_)) | None => {
                    self.body = None;
                    self.buf.clear();
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    if let Err(e) = self.reconnect().await {
                        self.ready.push_back(WatchEvent::Error(e));
                    }
                }
            }
        }
    }

    /// Whether `event` was delivered before the connection dropped (same partial revision).
    fn skip_replayed(&mut self, event: &WatchEvent) -> bool {
        let Some((rv, left)) = &mut self.skip else { return false };
        if event.resource_version() == Some(rv.as_str()) && *left > 0 {
            *left -= 1;
            return true;
        }
        self.skip = None;
        false
    }

    /// Reopens the watch after the last complete revision, retrying until the resume timeout.
    async fn reconnect(&mut self) -> Result<(), StoreError> {
        let give_up = Instant::now() + self.transport.config.watch_resume_timeout;
        let mut delay = self.transport.config.initial_backoff;
        let mut params = self.params.clone();
        params.resource_version = self.resume.complete_rv.clone();
        loop {
            params.timeout = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()).max(std::time::Duration::from_secs(1)));
            match open(&self.transport, &self.rt, self.namespace.as_deref(), &params).await {
                Ok(body) => {
                    self.body = Some(body);
                    self.skip = self.resume.partial.take();
                    return Ok(());
                }
                Err(e) if e.is_retryable() && Instant::now() < give_up => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.transport.config.max_backoff);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_decode_to_events() {
        let added = decode_line(br#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"5"}}}"#).unwrap();
        assert_eq!(added.resource_version(), Some("5"));
        let bm =
            decode_line(br#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"9"}}}"#).unwrap();
        assert_eq!(bm, WatchEvent::Bookmark { resource_version: "9".into() });
        let gone = decode_line(br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}}"#).unwrap();
        assert!(matches!(gone, WatchEvent::Error(StoreError::Gone { .. })), "{gone:?}");
        assert!(decode_line(b"{not json").is_err());
    }

    #[test]
    fn resume_point_is_the_last_complete_revision() {
        let ev = |rv: &str| {
            let mut meta = orch_core::ObjectMeta::named("p");
            meta.resource_version = Some(rv.into());
            WatchEvent::Added(Arc::new(DynamicObject::new("v1", "Pod", meta)))
        };
        let mut r = Resume { complete_rv: Some("1".into()), partial: None };
        r.delivered(&ev("3"));
        r.delivered(&ev("3"));
        assert_eq!((r.complete_rv.as_deref(), r.partial.clone()), (Some("1"), Some(("3".into(), 2))));
        r.delivered(&ev("4"));
        assert_eq!(r.complete_rv.as_deref(), Some("3"));
        r.delivered(&WatchEvent::Bookmark { resource_version: "7".into() });
        assert_eq!((r.complete_rv.as_deref(), r.partial.clone()), (Some("7"), None));
    }
}
