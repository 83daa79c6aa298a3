//! Watch events, shared by every watcher through `Arc`.

use std::sync::Arc;

use futures::stream::BoxStream;

use crate::{DynamicObject, StoreError};

/// One event of a watch. Objects are behind `Arc`: the store decodes each change once and
/// every watcher receives the same allocation.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::{DynamicObject, store::WatchEvent};
/// let ev = WatchEvent::Added(Arc::new(DynamicObject::new("v1", "Pod", Default::default())));
/// assert_eq!(ev.type_name(), "ADDED");
/// assert!(ev.object().is_some());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    /// The object was created, or started to match the watch's selectors, or is part of the initial state.
    Added(Arc<DynamicObject>),
    /// The object changed and still matches.
    Modified(Arc<DynamicObject>),
    /// The object was deleted, or stopped matching; this is its last state.
    Deleted(Arc<DynamicObject>),
    /// Progress: every change up to this resource version has been delivered.
    Bookmark {
        /// The revision reached.
        resource_version: String,
    },
    /// The watch failed (for example `Gone` when its start was compacted) and ends here.
    Error(StoreError),
}

impl WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`, as on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark { .. } => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        }
    }

    /// The object of an `Added`, `Modified` or `Deleted` event.
    pub fn object(&self) -> Option<&Arc<DynamicObject>> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
            _ => None,
        }
    }

    /// The resource version this event brings the watcher to, if it carries one.
    pub fn resource_version(&self) -> Option<&str> {
        match self {
            WatchEvent::Bookmark { resource_version } => Some(resource_version),
            WatchEvent::Error(_) => None,
            other => other.object().and_then(|o| o.metadata.resource_version.as_deref()),
        }
    }
}

/// The stream a watch returns; it ends after an `Error` event, on timeout, or when the store closes it.
pub type WatchStream = BoxStream<'static, WatchEvent>;
