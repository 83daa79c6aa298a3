//! Watches of one kind: initial state, then changes from the shared hub or, for old starts, the store's history.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
            let watcher = HistoryWatcher {
                filter,
                queue: queue.clone(),
                bookmarks: params.allow_bookmarks,
                _counted: Counted::new(&self.inner.history_watchers),
            };
            let task = forward(stream, watcher, hub);
            self.inner.spawn.spawn_boxed("registry-watch-history", Box::pin(task));
        }
        let deadline = params.timeout.map(|d| self.inner.clock.sleep(d));
        Ok(Box::pin(QueueStream::new(queue, deadline)))
    }
}

/// A watcher served from the store's history.
struct HistoryWatcher {
    filter: Filter,
    queue: Arc<WatchQueue>,
    bookmarks: bool,
    _counted: Counted,
}

/// One count in `Registry::history_watchers` while it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Counted(count.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one watcher straight from the store's history (when it starts before the hub's
/// window) until it has caught up with the hub's window, then hands it to the hub: a watcher
/// that started a little too early (the hub of a kind starts on first use, after the list the
/// watcher resumes from) does not decode every later event of its kind on its own.
async fn forward(mut stream: KvWatchStream, w: HistoryWatcher, hub: Arc<WatchHub>) {
    let mut decoder = EventDecoder::new(HISTORY_DECODER_KEYS);
    while let Some(msg) = stream.next().await {
        if w.queue.is_gone() {
            return;
        }
        match msg {
            Ok(WatchMessage::Events(events)) => {
                let decoded: Vec<HubEvent> = events.iter().filter_map(|e| decoder.decode(e)).collect();
                for group in decoded.chunk_by(|a, b| a.revision == b.revision) {
                    let out: Vec<WatchEvent> = group.iter().filter_map(|e| e.for_filter(&w.filter)).collect();
                    if w.queue.push_all(out).is_err() {
                        return;
                    }
                }
                // Every event up to the last revision read is delivered: the hub takes over if
                // it holds what follows.
                if let Some(last) = events.last().map(|e| e.kv.mod_revision)
                    && let Subscribed::Attached = hub.subscribe(w.filter.clone(), w.queue.clone(), last, w.bookmarks)
                {
                    return;
                }
            }
            Ok(WatchMessage::Progress { revision }) => {
                if w.bookmarks
                    && w.queue.push_all(vec![WatchEvent::Bookmark { resource_version: revision.to_string() }]).is_err()
                {
                    return;
                }
                if let Subscribed::Attached = hub.subscribe(w.filter.clone(), w.queue.clone(), revision, w.bookmarks) {
                    return;
                }
            }
            Err(e) => {
                w.queue.close(Some(WatchEvent::Error(e.into())));
                return;
            }
        }
    }
    w.queue.close(Some(WatchEvent::Error(StoreError::Unavailable { message: "the store closed the watch".into() })));
}
