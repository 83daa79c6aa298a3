//! The scheduler's three watches (nodes, bound pods, unbound pods): list, then watch from the
//! list's revision; relist when the watch ends or fails.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use orch_core::kinds::{Node, Pod};
use orch_core::store::{ListParams, WatchEvent, WatchParams};
use orch_core::{DynamicObject, Resource, ResourceType};

use super::{Inner, handlers};

/// Which objects a watch feeds.
///
/// Pods are watched once (every non-terminal pod) and routed by `spec.nodeName`: bound pods go
/// to the cache, unbound ones to the queue. (A watch with the field selector `spec.nodeName=`
/// receives no events from orch-store's watch hub today, which indexes it under the node name
/// `""`; one watch also decodes each pod event once instead of twice.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Nodes,
    Pods,
}

/// Terminal pods hold no resources and need no scheduling.
const NOT_TERMINAL: &str = "status.phase!=Succeeded,status.phase!=Failed";

impl Kind {
    pub(crate) const ALL: [Kind; 2] = [Kind::Nodes, Kind::Pods];

    pub(crate) fn task_name(self) -> &'static str {
        match self {
            Kind::Nodes => "scheduler-watch-nodes",
            Kind::Pods => "scheduler-watch-pods",
        }
    }

    fn resource_type(self) -> ResourceType {
        match self {
            Kind::Nodes => Node::resource_type(),
            _ => Pod::resource_type(),
        }
    }

    fn fields(self) -> Option<String> {
        match self {
            Kind::Nodes => None,
            Kind::Pods => Some(NOT_TERMINAL.to_owned()),
        }
    }
}

/// One decoded change.
pub(crate) enum Change {
    Upsert(Arc<DynamicObject>),
    Delete(Arc<DynamicObject>),
}

/// The pause before relisting after a watch that failed or ended without a single event,
/// doubling from 200 ms to 30 s, so an informer whose watches keep failing at once waits for
/// time to pass instead of relisting in a tight loop.
fn relist_backoff(failures: u32) -> Duration {
    let doubled = 200u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_millis(doubled.min(30_000))
}

pub(crate) async fn run(inner: Arc<Inner>, kind: Kind) {
    let rt = kind.resource_type();
    let mut synced = false;
    let mut failures = 0u32;
    while !inner.stopped.load(Ordering::SeqCst) {
        let list_params = ListParams { field_selector: kind.fields(), ..Default::default() };
        let list = match inner.store.list(&rt, None, &list_params).await {
            Ok(l) => l,
            Err(_) => {
                inner.clock.sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        handlers::replace(&inner, kind, list.items);
        if !synced {
            synced = true;
            inner.synced.fetch_add(1, Ordering::SeqCst);
        }
        inner.wake.notify();
        let mut params = WatchParams::default().from_version(list.resource_version);
        params.field_selector = kind.fields();
        let mut stream = match inner.store.watch(&rt, None, &params).await {
            Ok(s) => s,
            Err(_) => {
                inner.clock.sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let (mut delivered, mut failed) = (false, false);
        while let Some(ev) = stream.next().await {
            if inner.stopped.load(Ordering::SeqCst) {
                return;
            }
            let change = match ev {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => Change::Upsert(o),
                WatchEvent::Deleted(o) => Change::Delete(o),
                WatchEvent::Bookmark { .. } => continue,
                WatchEvent::Error(_) => {
                    failed = true;
                    break;
                }
            };
            delivered = true;
            handlers::apply(&inner, kind, change);
        }
        // The watch ended (a compacted revision or a closed stream): relist, at once after a
        // watch that did its work, after a growing pause when watches keep failing.
        if failed || !delivered {
            failures += 1;
            inner.clock.sleep(relist_backoff(failures)).await;
        } else {
            failures = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relist_backoff_doubles_from_200_ms_to_30_s() {
        let got: Vec<u64> =
            [1, 2, 3, 8, 9, 40, u32::MAX].iter().map(|f| relist_backoff(*f).as_millis() as u64).collect();
        assert_eq!(got, vec![200, 400, 800, 25_600, 30_000, 30_000, 30_000]);
    }
}
