//! Watches of one kind: initial state, then changes from the shared hub or, for old starts, the store's history.

use std::sync::Arc;

use futures::StreamExt;
use orch_core::store::{ListParams, WatchEvent, WatchParams, WatchStream};
use orch_core::{ResourceType, StoreError};

use super::read::Filter;
use super::watch_hub::{EventDecoder, HubEvent, Subscribed, WatchHub};

/// Keys whose last decoded state a history watcher keeps, to serve the next event's `prev`.
const HISTORY_DECODER_KEYS: usize = 1024;
use super::watch_queue::{QueueStream, WatchQueue};
use super::{Registry, codec, keys};
use crate::kv::{KvWatchStream, WatchMessage, WatchRequest};

impl Registry {
    /// The hub of a kind, started on first use and restarted if its store watch ended.
    async fn hub(&self, rt: &ResourceType) -> Result<Arc<WatchHub>, StoreError> {
        let mut hubs = self.inner.hubs.lock().await;
        if let Some(hub) = hubs.get(rt).filter(|h| !h.failed()) {
            return Ok(hub.clone());
        }
        let hub = WatchHub::start(&self.inner.kv, &self.inner.spawn, rt, self.inner.config.watch_history).await?;
        hubs.insert(rt.clone(), hub.clone());
        Ok(hub)
    }

    pub(super) async fn watch_objects(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        self.kind(rt)?;
        let namespace = namespace.filter(|_| rt.namespaced());
        let filter = Filter::parse(namespace, params.label_selector.as_deref(), params.field_selector.as_deref())?;
        let start = match params.resource_version.as_deref() {
            None | Some("") | Some("0") => None,
            Some(rv) => Some(codec::parse_rv(rv)?),
        };
        let hub = self.hub(rt).await?;
        let (initial, after) = match start {
            None => {
                let list = ListParams {
                    label_selector: params.label_selector.clone(),
                    field_selector: params.field_selector.clone(),
                    ..Default::default()
                };
                let list = self.list_objects(rt, namespace, &list).await?;
                let rev = codec::parse_rv(&list.resource_version)?;
                (list.items, rev)
            }
            Some(rv) => {
                let status = self.inner.kv.status().await?;
                if rv < status.compact_revision {
                    return Err(StoreError::Gone { requested: rv, compacted: status.compact_revision });
                }
                (Vec::new(), rv)
            }
        };
        let queue = WatchQueue::new(self.inner.config.watch_buffer + initial.len());
        for obj in initial {
            queue.push_unbounded(WatchEvent::Added(Arc::new(obj)));
        }
        if let Subscribed::TooOld = hub.subscribe(filter.clone(), queue.clone(), after, params.allow_bookmarks) {
            let prefix = keys::type_prefix(rt, namespace);
            let req = WatchRequest::prefix(prefix).from_revision(after + 1).with_prev_kv().with_progress();
            let stream = self.inner.kv.watch(req).await?;
            let task = forward(stream, filter, queue.clone(), params.allow_bookmarks);
            self.inner.spawn.spawn_boxed("registry-watch-history", Box::pin(task));
        }
        let deadline = params.timeout.map(|d| self.inner.clock.sleep(d));
        Ok(Box::pin(QueueStream::new(queue, deadline)))
    }
}

/// Serves one watcher straight from the store's history (when it starts before the hub's window).
async fn forward(mut stream: KvWatchStream, filter: Filter, queue: Arc<WatchQueue>, bookmarks: bool) {
    let mut decoder = EventDecoder::new(HISTORY_DECODER_KEYS);
    while let Some(msg) = stream.next().await {
        if queue.is_gone() {
            return;
        }
        match msg {
            Ok(WatchMessage::Events(events)) => {
                let decoded: Vec<HubEvent> = events.iter().filter_map(|e| decoder.decode(e)).collect();
                for group in decoded.chunk_by(|a, b| a.revision == b.revision) {
                    let out: Vec<WatchEvent> = group.iter().filter_map(|e| e.for_filter(&filter)).collect();
                    if queue.push_all(out).is_err() {
                        return;
                    }
                }
            }
            Ok(WatchMessage::Progress { revision }) => {
                if bookmarks
                    && queue.push_all(vec![WatchEvent::Bookmark { resource_version: revision.to_string() }]).is_err()
                {
                    return;
                }
            }
            Err(e) => {
                queue.close(Some(WatchEvent::Error(e.into())));
                return;
            }
        }
    }
    queue.close(Some(WatchEvent::Error(StoreError::Unavailable { message: "the store closed the watch".into() })));
}
