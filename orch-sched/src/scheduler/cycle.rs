//! One scheduling cycle: decide (pure, on the snapshot), then assume, Reserve and Permit, and
//! hand the pod to an asynchronous binding cycle.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::FutureExt;

use super::binding::{self, Binding};
use super::{Inner, lock, status_writer};
use crate::{CycleState, PermitOutcome, QueuedPodInfo, ScheduleError, Snapshot};

pub(crate) fn schedule_one(inner: &Arc<Inner>, info: QueuedPodInfo, snapshot: &mut Snapshot) {
    let started = inner.clock.now();
    let Some(fw) = inner.framework_for(&info).cloned() else {
        lock(&inner.queue).done(info.key());
        return;
    };
    let pod = info.pod.clone();
    if pod.pod.metadata.is_deleting() {
        lock(&inner.queue).done(info.key());
        return;
    }
    lock(&inner.cache).update_snapshot(snapshot);
    lock(&inner.stats).attempts += 1;
    let mut state = CycleState::new();
    let node = match fw.schedule_pod(&mut state, &pod, snapshot) {
        Ok(r) => r.node,
        Err(ScheduleError::Fit(fit)) => {
            let mut fit = *fit;
            let mut nominated = None;
            if let Some(pf) = fw.run_post_filter(&state, &pod, snapshot, &fit.diagnosis) {
                if pf.status.is_success() {
                    nominated = pf.nominated_node.clone();
                    if let Some(node) = &nominated {
                        // At once, not when the status write comes back: the next cycles must
                        // leave the room being freed to this pod.
                        lock(&inner.cache).nominate(pod.clone(), node);
                    }
                    lock(&inner.stats).preemption_victims += pf.victims.len() as u64;
                    status_writer::spawn_preemption(inner, pf.victims);
                } else {
                    fit.diagnosis.post_filter_message = Some(pf.status.message());
                }
            }
            lock(&inner.stats).unschedulable += 1;
            let plugins = fit.diagnosis.unschedulable_plugins.clone();
            lock(&inner.queue).requeue_unschedulable(info, plugins, inner.clock.now());
            status_writer::spawn_unschedulable(inner, &pod, "Unschedulable", fit.to_string(), nominated);
            return;
        }
        Err(ScheduleError::Plugin(status)) => {
            lock(&inner.stats).errors += 1;
            lock(&inner.queue).requeue_backoff(info, inner.clock.now());
            status_writer::spawn_unschedulable(inner, &pod, "SchedulerError", status.to_string(), None);
            return;
        }
    };
    let assumed = Arc::new(pod.bound_to(&node));
    if lock(&inner.cache).assume_pod(assumed.clone()).is_err() {
        lock(&inner.queue).requeue_backoff(info, inner.clock.now());
        return;
    }
    let reserved = fw.run_reserve(&mut state, &assumed, &node);
    if !reserved.is_success() {
        lock(&inner.cache).forget_pod(&assumed.key);
        let plugins: BTreeSet<String> = reserved.plugin().map(str::to_owned).into_iter().collect();
        lock(&inner.queue).requeue_unschedulable(info, plugins, inner.clock.now());
        return;
    }
    let wait = match fw.run_permit(&state, &assumed, &node) {
        PermitOutcome::Allow => None,
        PermitOutcome::Reject(status) => {
            fw.run_unreserve(&mut state, &assumed, &node);
            lock(&inner.cache).forget_pod(&assumed.key);
            let plugins: BTreeSet<String> = status.plugin().map(str::to_owned).into_iter().collect();
            lock(&inner.queue).requeue_unschedulable(info, plugins, inner.clock.now());
            status_writer::spawn_unschedulable(inner, &pod, "Unschedulable", status.message(), None);
            return;
        }
        PermitOutcome::Wait(timeout, plugins) => {
            let rx = fw.waiting_pods().register(assumed.clone(), &node, plugins);
            Some((rx, timeout))
        }
    };
    // The pod is placed as far as the queue is concerned; updates to it are ignored while it is assumed.
    lock(&inner.queue).done(info.key());
    let job = Binding { inner: inner.clone(), fw, state, info, assumed, node, wait, started };
    inner.spawn.spawn_boxed("scheduler-bind", binding::run(job).boxed());
}
