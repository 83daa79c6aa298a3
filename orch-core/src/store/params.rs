//! Parameters of object-store calls: list, watch, write, patch and delete options, and list results.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::DynamicObject;

/// Parameters of a list call: selectors, paging and the revision to read at.
///
/// Selectors are kept in their string form (`app=web,tier!=db`, `spec.nodeName=n1`) so they
/// travel unchanged over HTTP; the store parses them and answers `BadRequest` when malformed.
///
/// ```
/// use orch_core::store::ListParams;
/// let p = ListParams::default().labels("app=web").fields("spec.nodeName=n1").limit(500);
/// assert_eq!(p.label_selector.as_deref(), Some("app=web"));
/// assert_eq!(p.limit, Some(500));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// Label selector in string form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Field selector in string form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_selector: Option<String>,
    /// Most items to return; the rest come with the `continue` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Token from a previous page; the next page is read at the same revision.
    #[serde(default, rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    /// Revision to read at: `None` for the latest, `"0"` for any recent state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl ListParams {
    /// Sets the label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }
    /// Sets the field selector.
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }
    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Continues from a previous page.
    pub fn continue_from(mut self, token: impl Into<String>) -> Self {
        self.continue_token = Some(token.into());
        self
    }
}

/// The result of a list: the items and the revision they were read at.
///
/// ```
/// use orch_core::store::ObjectList;
/// let l = ObjectList { resource_version: "42".into(), ..Default::default() };
/// assert!(l.items.is_empty() && l.continue_token.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectList {
    /// The store revision the list was read at; start a watch from here to miss nothing.
    pub resource_version: String,
    /// Token for the next page, when `limit` cut the list short.
    pub continue_token: Option<String>,
    /// How many items remain after this page, when known.
    pub remaining_item_count: Option<i64>,
    /// The objects.
    pub items: Vec<DynamicObject>,
}

/// Parameters of a watch.
///
/// - `resource_version: None`: a synthetic `Added` event for every existing object, then changes.
/// - `Some("0")`: the same, starting from any recent state.
/// - `Some(rv)`: every change after `rv`, or an error event `Gone` if `rv` was compacted.
///
/// ```
/// use orch_core::store::WatchParams;
/// let p = WatchParams::default().from_version("17").fields("spec.nodeName=n1").bookmarks();
/// assert_eq!(p.resource_version.as_deref(), Some("17"));
/// assert!(p.allow_bookmarks);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchParams {
    /// Label selector in string form.
    pub label_selector: Option<String>,
    /// Field selector in string form.
    pub field_selector: Option<String>,
    /// Where to start (see the type's docs).
    pub resource_version: Option<String>,
    /// Whether to send `Bookmark` events carrying progress.
    pub allow_bookmarks: bool,
    /// End the watch after this long (servers may end it sooner).
    pub timeout: Option<Duration>,
}

impl WatchParams {
    /// Sets the label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }
    /// Sets the field selector.
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }
    /// Starts after this resource version.
    pub fn from_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }
    /// Asks for bookmark events.
    pub fn bookmarks(mut self) -> Self {
        self.allow_bookmarks = true;
        self
    }
    /// Ends the watch after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Options of create and update calls.
///
/// ```
/// use orch_core::store::WriteOptions;
/// assert!(WriteOptions::dry_run().dry_run);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteOptions {
    /// Run admission and validation, return the result, persist nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl WriteOptions {
    /// Options for a dry run.
    pub fn dry_run() -> Self {
        WriteOptions { dry_run: true }
    }
}

/// Which part of an object a write addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subresource {
    /// The object itself: changes to `status` are ignored.
    #[default]
    Main,
    /// The `status` subresource: only `status` (and nothing else) changes.
    Status,
}

/// Options of a patch call.
///
/// ```
/// use orch_core::store::{PatchOptions, Subresource};
/// let o = PatchOptions { subresource: Subresource::Status, ..Default::default() };
/// assert!(!o.dry_run);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchOptions {
    /// Patch the object or its status.
    #[serde(default)]
    pub subresource: Subresource,
    /// Persist nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What happens to dependents when an owner is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropagationPolicy {
    /// Leave dependents alone (remove their owner reference).
    Orphan,
    /// Delete the owner now; the garbage collector deletes dependents later (the default).
    Background,
    /// Delete dependents first; the owner stays (with a `foregroundDeletion` finalizer) until they are gone.
    Foreground,
}

/// Conditions a delete requires to hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The object must have this uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object must be at this resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of a delete (or eviction) call.
///
/// ```
/// use orch_core::store::{DeleteOptions, PropagationPolicy};
/// let o = DeleteOptions::default().propagation(PropagationPolicy::Foreground).grace_period(0);
/// assert_eq!(o.grace_period_seconds, Some(0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// Conditions that must hold, else `Conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// What happens to dependents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<PropagationPolicy>,
    /// Grace period for the object (pods: seconds between SIGTERM and SIGKILL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    /// Persist nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Sets the propagation policy.
    pub fn propagation(mut self, policy: PropagationPolicy) -> Self {
        self.propagation_policy = Some(policy);
        self
    }
    /// Sets the grace period.
    pub fn grace_period(mut self, seconds: i64) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }
    /// Requires the object to be at this resource version.
    pub fn at_version(mut self, rv: impl Into<String>) -> Self {
        self.preconditions.get_or_insert_with(Preconditions::default).resource_version = Some(rv.into());
        self
    }
}

/// The outcome of a delete.
#[derive(Clone, Debug, PartialEq)]
pub enum DeleteOutcome {
    /// The object is gone; this was its last state.
    Deleted(DynamicObject),
    /// Deletion is pending (finalizers or graceful deletion); this is the object with `deletionTimestamp` set.
    Pending(DynamicObject),
}

impl DeleteOutcome {
    /// The object, whichever the outcome.
    pub fn object(&self) -> &DynamicObject {
        match self {
            DeleteOutcome::Deleted(o) | DeleteOutcome::Pending(o) => o,
        }
    }
}
