//! The binding cycle: wait for Permit, PreBind, Bind, PostBind; on failure roll back
//! (Unreserve, forget the assumed pod, requeue).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{Either, select};
use orch_core::kinds::Pod;
use orch_core::store::Api;
use orch_core::{StoreError, Timestamp};

use super::{Inner, handlers, lock};
use crate::{ClusterEvent, CycleState, Framework, PodInfo, QueuedPodInfo, Status};

pub(crate) struct Binding {
    pub(crate) inner: Arc<Inner>,
    pub(crate) fw: Arc<Framework>,
    pub(crate) state: CycleState,
    pub(crate) info: QueuedPodInfo,
    pub(crate) assumed: Arc<PodInfo>,
    pub(crate) node: String,
    pub(crate) wait: Option<(oneshot::Receiver<Status>, Duration)>,
    pub(crate) started: Timestamp,
}

async fn wait_on_permit(job: &mut Binding) -> Status {
    let Some((rx, timeout)) = job.wait.take() else { return Status::success() };
    let sleep = job.inner.clock.sleep(timeout);
    match select(rx, sleep).await {
        Either::Left((Ok(status), _)) => status,
        Either::Left((Err(_), _)) => Status::unschedulable("the pod stopped waiting on permit"),
        Either::Right(_) => {
            job.fw.waiting_pods().remove(&job.assumed.key);
            Status::unschedulable(format!("rejected due to timeout after waiting {timeout:?} at permit"))
        }
    }
}

/// Whether a pod whose binding failed should be scheduled again: not if it is gone or bound.
async fn still_pending(inner: &Inner, pod: &PodInfo) -> bool {
    let api: Api<Pod> = Api::namespaced(inner.store.clone(), pod.pod.metadata.namespace_str());
    match api.get(pod.pod.metadata.name_str()).await {
        Ok(p) => p.spec.node_name.as_deref().is_none_or(str::is_empty) && !p.metadata.is_deleting(),
        Err(StoreError::NotFound { .. }) => false,
        Err(_) => true,
    }
}

pub(crate) async fn run(mut job: Binding) {
    let mut status = wait_on_permit(&mut job).await;
    if status.is_success() {
        status = job.fw.run_pre_bind(&job.state, &job.assumed, &job.node).await;
    }
    if status.is_success() {
        status = job.fw.run_bind(&job.state, &job.assumed, &job.node).await;
    }
    let inner = job.inner.clone();
    if status.is_success() {
        job.fw.run_post_bind(&job.state, &job.assumed, &job.node);
        let latency = inner.clock.now().saturating_duration_since(job.started);
        let mut stats = lock(&inner.stats);
        stats.bound += 1;
        stats.bind_latencies.push(latency);
        return;
    }
    job.fw.run_unreserve(&mut job.state, &job.assumed, &job.node);
    lock(&inner.cache).forget_pod(&job.assumed.key);
    lock(&inner.stats).bind_failures += 1;
    // The assumed pod's resources are free again.
    handlers::move_on(&inner, &[ClusterEvent::AssignedPodDelete]);
    if !still_pending(&inner, &job.info.pod).await {
        return;
    }
    let now = inner.clock.now();
    if status.is_rejected() {
        let plugins: BTreeSet<String> = status.plugin().map(str::to_owned).into_iter().collect();
        lock(&inner.queue).requeue_unschedulable(job.info, plugins, now);
    } else {
        lock(&inner.queue).requeue_backoff(job.info, now);
    }
    inner.wake.notify();
}
