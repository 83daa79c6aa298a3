//! Background tasks of a `MemKv`: lease expiry and progress notifications. Each holds only a
//! weak reference to the store and ends once the store is dropped.

use std::sync::{Arc, Weak};

use futures::FutureExt;
use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{self, Either};

use super::store::Shared;

/// Starts the lease expiry task; returns the sender that wakes it when a lease is granted.
pub(crate) fn start_lease_expiry(shared: &Arc<Shared>) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel(1);
    let weak = Arc::downgrade(shared);
    shared.spawn().spawn_boxed("memkv-lease-expiry", lease_expiry(weak, rx).boxed());
    tx
}

/// Revokes leases as their deadlines pass; sleeps until the next deadline or a new grant.
async fn lease_expiry(weak: Weak<Shared>, mut wake: mpsc::Receiver<()>) {
    loop {
        let sleep = {
            let Some(shared) = weak.upgrade() else { return };
            shared.expire_leases();
            let next = shared.read().core.next_lease_deadline();
            match next {
                Some(deadline) => shared.clock.sleep_until(deadline),
                None => future::pending().boxed(),
            }
        };
        if let Either::Right((None, _)) = future::select(sleep, wake.next()).await {
            return; // the store is gone
        }
    }
}

/// Starts the task sending progress notifications to idle watchers that asked for them.
pub(crate) fn start_progress(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let clock = shared.clock.clone();
    let interval = shared.config.progress_notify_interval;
    let task = async move {
        loop {
            clock.sleep(interval).await;
            let Some(shared) = weak.upgrade() else { return };
            shared.progress_tick();
        }
    };
    shared.spawn().spawn_boxed("memkv-progress", task.boxed());
}
