//! Watch responses: JSON lines `{"type":..,"object":..}`, each event encoded once for all watchers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use dashmap::DashMap;
use orch_core::store::{Status, WatchEvent};
use orch_core::{DynamicObject, ResourceType};
use serde::Serialize;

/// How many encoded events are kept for sharing before the cache starts over.
const CACHE_EVENTS: usize = 8192;

/// How many encoded bytes are kept for sharing before the cache starts over, so large objects
/// cannot make the cache hold gigabytes.
const CACHE_BYTES: usize = 16 << 20;

/// Encodes watch events to their wire lines. The store hands every watcher the same `Arc` for
/// one change, so the line is keyed by that allocation (kept alive by the cache, so the key
/// cannot be reused) and built once however many watchers send it.
///
/// ```
/// use std::sync::Arc;
/// use orch_api::server::EventEncoder;
/// use orch_core::{DynamicObject, ObjectMeta, Resource, kinds::Pod, store::WatchEvent};
/// let enc = EventEncoder::default();
/// let ev = WatchEvent::Added(Arc::new(DynamicObject::new("v1", "Pod", ObjectMeta::named("p"))));
/// let line = enc.encode(&ev, &Pod::resource_type());
/// assert!(line.starts_with(br#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod""#));
/// assert!(line.ends_with(b"\n"));
/// assert_eq!(enc.encode(&ev, &Pod::resource_type()).as_ptr(), line.as_ptr(), "encoded once");
/// ```
#[derive(Default)]
pub struct EventEncoder {
    cache: DashMap<(usize, u8), (Arc<DynamicObject>, Bytes)>,
    cached_bytes: AtomicUsize,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    object: &'a T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkObject<'a> {
    api_version: String,
    kind: &'a str,
    metadata: BookmarkMeta<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta<'a> {
    resource_version: &'a str,
}

fn line<T: Serialize>(kind: &str, object: &T) -> Bytes {
    let mut out = serde_json::to_vec(&Line { kind, object }).unwrap_or_else(|e| {
        let status = Status::from_error(&orch_core::StoreError::internal(format!("encoding a watch event: {e}")));
        serde_json::to_vec(&Line { kind: "ERROR", object: &status }).unwrap_or_default()
    });
    out.push(b'\n');
    Bytes::from(out)
}

impl EventEncoder {
    /// The wire line of `event` (a watch of `rt`), newline-terminated.
    pub fn encode(&self, event: &WatchEvent, rt: &ResourceType) -> Bytes {
        let (obj, tag) = match event {
            WatchEvent::Added(o) => (o, 0u8),
            WatchEvent::Modified(o) => (o, 1),
            WatchEvent::Deleted(o) => (o, 2),
            WatchEvent::Bookmark { resource_version } => {
                let object = BookmarkObject {
                    api_version: rt.api_version(),
                    kind: &rt.kind,
                    metadata: BookmarkMeta { resource_version },
                };
                return line("BOOKMARK", &object);
            }
            WatchEvent::Error(err) => return line("ERROR", &Status::from_error(err)),
        };
        let key = (Arc::as_ptr(obj) as usize, tag);
        if let Some(hit) = self.cache.get(&key) {
            return hit.1.clone();
        }
        let bytes = line(event.type_name(), obj.as_ref());
        if self.cache.len() >= CACHE_EVENTS || self.cached_bytes.load(Ordering::Relaxed) >= CACHE_BYTES {
            self.cache.clear();
            self.cached_bytes.store(0, Ordering::Relaxed);
        }
        self.cached_bytes.fetch_add(bytes.len(), Ordering::Relaxed);
        self.cache.insert(key, (obj.clone(), bytes.clone()));
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{ObjectMeta, Resource, StoreError, kinds::Pod};

    #[test]
    fn bookmark_and_error_lines_have_kubernetes_shape() {
        let enc = EventEncoder::default();
        let b = enc.encode(&WatchEvent::Bookmark { resource_version: "7".into() }, &Pod::resource_type());
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["type"], "BOOKMARK");
        assert_eq!(v["object"]["metadata"]["resourceVersion"], "7");
        assert_eq!(v["object"]["kind"], "Pod");
        let e = enc.encode(&WatchEvent::Error(StoreError::Gone { requested: 1, compacted: 5 }), &Pod::resource_type());
        let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
        assert_eq!((v["type"].as_str(), v["object"]["code"].as_u64()), (Some("ERROR"), Some(410)));
    }

    #[test]
    fn same_object_different_event_types_are_distinct_lines() {
        let enc = EventEncoder::default();
        let obj = Arc::new(DynamicObject::new("v1", "Pod", ObjectMeta::named("p")));
        let added = enc.encode(&WatchEvent::Added(obj.clone()), &Pod::resource_type());
        let deleted = enc.encode(&WatchEvent::Deleted(obj), &Pod::resource_type());
        assert!(added.starts_with(br#"{"type":"ADDED""#));
        assert!(deleted.starts_with(br#"{"type":"DELETED""#));
    }
}
