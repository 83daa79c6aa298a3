//! Tests of the scheduling queue's timing and moves.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::Pod;
use orch_core::{ObjectMeta, Timestamp};

use super::*;
use crate::plugins::PrioritySort;

fn queue() -> SchedulingQueue {
    SchedulingQueue::new(QueueConfig::default(), Arc::new(PrioritySort))
}

fn pod(name: &str) -> Arc<PodInfo> {
    Arc::new(PodInfo::new(Pod { metadata: ObjectMeta::named(name).in_namespace("ns"), ..Default::default() }))
}

fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix(1000, 0) + Duration::from_secs(secs)
}

fn plugins(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn backoff_doubles_from_one_second_up_to_ten() {
    let q = queue();
    let cases = [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (30, 10)];
    for (attempts, secs) in cases {
        assert_eq!(q.backoff_duration(attempts), Duration::from_secs(secs), "attempts {attempts}");
    }
}

#[test]
fn unschedulable_pod_moves_only_on_an_event_its_plugins_care_about() {
    let mut q = queue();
    q.add(pod("a"), t(0));
    let a = q.pop(t(0)).expect("a");
    q.requeue_unschedulable(a, plugins(&["NodeResourcesFit"]), t(0));
    assert_eq!(q.unschedulable_len(), 1);
    let moved = q.move_on_event(t(5), |info| info.unschedulable_plugins.contains("TaintToleration"));
    assert_eq!((moved, q.unschedulable_len()), (0, 1));
    let moved = q.move_on_event(t(5), |info| info.unschedulable_plugins.contains("NodeResourcesFit"));
    assert_eq!(moved, 1);
    assert_eq!(q.pop(t(5)).map(|p| p.attempts), Some(2), "backoff of 1 s has passed: straight to active");
}

#[test]
fn event_during_the_attempt_sends_the_pod_to_backoff_not_the_pool() {
    let mut q = queue();
    q.add(pod("a"), t(0));
    let a = q.pop(t(0)).expect("a");
    q.move_on_event(t(0), |_| true);
    q.requeue_unschedulable(a, plugins(&["X"]), t(0));
    assert_eq!((q.unschedulable_len(), q.backoff_len()), (0, 1));
    assert!(q.pop(t(0)).is_none());
    q.flush(t(1));
    assert!(q.pop(t(1)).is_some());
}

#[test]
fn gated_pod_waits_for_its_own_update_and_status_only_updates_do_not_retry() {
    let mut q = queue();
    q.add_gated(pod("g"), "Gate", t(0));
    q.move_on_event(t(0), |_| true);
    q.flush(t(1000));
    assert!(q.pop(t(1000)).is_none(), "gated pods ignore events and the flush");
    let mut changed = (*pod("g").pod).clone();
    changed.metadata.labels.insert("ready".into(), "1".into());
    q.add(Arc::new(PodInfo::new(changed)), t(1000));
    let g = q.pop(t(1000)).expect("released by its update");
    q.requeue_unschedulable(g, plugins(&["X"]), t(1000));
    let mut status_only = (*pod("g").pod).clone();
    status_only.metadata.labels.insert("ready".into(), "1".into());
    status_only.status.phase = Some("Pending".into());
    q.add(Arc::new(PodInfo::new(status_only)), t(1001));
    assert_eq!(q.unschedulable_len(), 1, "a status-only change does not retry the pod");
}

#[test]
fn deleted_pod_in_flight_is_not_requeued() {
    let mut q = queue();
    q.add(pod("a"), t(0));
    let a = q.pop(t(0)).expect("a");
    q.delete("ns/a");
    q.requeue_backoff(a, t(0));
    assert!(!q.contains("ns/a"));
    assert_eq!(q.next_deadline(), None);
}

#[test]
fn unschedulable_pool_flushes_after_five_minutes() {
    let mut q = queue();
    q.add(pod("a"), t(0));
    let a = q.pop(t(0)).expect("a");
    q.requeue_unschedulable(a, plugins(&["X"]), t(0));
    assert_eq!(q.next_deadline(), Some(t(300)));
    q.flush(t(299));
    assert!(q.pop(t(299)).is_none());
    q.flush(t(300));
    assert!(q.pop(t(300)).is_some());
}
