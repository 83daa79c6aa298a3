//! The lease expiry task of `DurableKv`: revokes expired leases through the logged write path.

use std::sync::Weak;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::select;

use super::engine::Engine;
use crate::kv::KvError;
use crate::mvcc::WriteRequest;

/// Longest sleep between checks (a grant wakes the task earlier).
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Runs until the store is dropped or fails: revokes every expired lease (each revoke is a logged
/// write, so watchers see the deletes once they are durable), then sleeps until the next deadline.
pub(crate) async fn run(engine: Weak<Engine>, mut wake: mpsc::Receiver<()>) {
    loop {
        let sleep = {
            let Some(engine) = engine.upgrade() else { return };
            let now = engine.clock.now();
            let (expired, next) = {
                let st = engine.shared.read();
                (st.core.expired_leases(now), st.core.next_lease_deadline())
            };
            for id in expired {
                match engine.write(WriteRequest::LeaseRevoke { id }).await {
                    Ok(_) | Err(KvError::LeaseNotFound { .. }) => {}
                    // Failed or closed: nothing more can be written.
                    Err(_) => return,
                }
            }
            let until = next.map_or(now + MAX_SLEEP, |d| d.min(now + MAX_SLEEP));
            engine.clock.sleep_until(until)
        };
        if let futures::future::Either::Left((None, _)) = select(wake.next(), sleep).await {
            return;
        }
    }
}
