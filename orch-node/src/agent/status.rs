//! The pod status a worker reports, computed from its containers (pure).

use orch_core::Timestamp;
use orch_core::kinds::{Condition, PodIp, PodStatus, find_condition};

use super::slot::Slot;

/// The phase the containers put the pod in.
pub(crate) fn phase(init: &[Slot], main: &[Slot]) -> &'static str {
    if init.iter().any(|s| s.finished() && !s.succeeded()) {
        return "Failed";
    }
    if !init.iter().all(Slot::succeeded) {
        return "Pending";
    }
    if !main.is_empty() && main.iter().all(Slot::finished) {
        return if main.iter().all(Slot::succeeded) { "Succeeded" } else { "Failed" };
    }
    if !main.is_empty() && main.iter().all(Slot::ever_started) { "Running" } else { "Pending" }
}

/// Builds the pod status. Conditions keep their transition time from `previous` when their
/// status did not change, so an unchanged pod yields an equal status (and no write).
pub(crate) fn pod_status(
    previous: &PodStatus,
    init: &[Slot],
    main: &[Slot],
    pod_ip: Option<&str>,
    host_ip: &str,
    start_time: Option<Timestamp>,
    now: Timestamp,
) -> PodStatus {
    let phase = phase(init, main);
    let initialized = init.iter().all(Slot::succeeded);
    let containers_ready = !main.is_empty() && main.iter().all(|s| s.ready);
    let condition = |type_: &str, status: bool| {
        let mut c = Condition::new(type_, status);
        c.last_transition_time = match find_condition(&previous.conditions, type_) {
            Some(old) if old.status == c.status => old.last_transition_time,
            _ => Some(now),
        };
        if !status && type_ != "Initialized" && type_ != "PodScheduled" {
            c.reason = Some(if phase == "Succeeded" { "PodCompleted" } else { "ContainersNotReady" }.into());
        }
        c
    };
    let mut conditions = vec![];
    if let Some(scheduled) = find_condition(&previous.conditions, "PodScheduled") {
        conditions.push(scheduled.clone());
    } else {
        conditions.push(condition("PodScheduled", true));
    }
    conditions.push(condition("Initialized", initialized));
    conditions.push(condition("ContainersReady", containers_ready));
    conditions.push(condition("Ready", containers_ready));
    PodStatus {
        phase: Some(phase.into()),
        conditions,
        container_statuses: main.iter().map(Slot::status).collect(),
        init_container_statuses: init.iter().map(Slot::status).collect(),
        pod_ip: pod_ip.map(str::to_owned),
        pod_ips: pod_ip.map(|ip| vec![PodIp { ip: ip.to_owned() }]).unwrap_or_default(),
        host_ip: Some(host_ip.to_owned()),
        start_time: previous.start_time.or(start_time),
        nominated_node_name: previous.nominated_node_name.clone(),
        reason: None,
        message: None,
        qos_class: previous.qos_class.clone(),
    }
}

/// A status turned `Failed` for `reason`: nothing is ready any more.
pub(crate) fn failed(mut status: PodStatus, reason: &str, message: &str) -> PodStatus {
    status.phase = Some("Failed".into());
    status.reason = Some(reason.into());
    status.message = Some(message.into());
    for c in status.conditions.iter_mut().filter(|c| c.type_ == "Ready" || c.type_ == "ContainersReady") {
        c.status = "False".into();
        c.reason = Some("PodFailed".into());
    }
    for c in &mut status.container_statuses {
        c.ready = false;
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::BackoffConfig;
    use crate::runtime::{ContainerId, ExitInfo};
    use orch_core::kinds::Container;
    use tokio::time::Instant;

    fn slot(init: bool) -> Slot {
        Slot::new(Container { name: "c".into(), ..Default::default() }, init, BackoffConfig::default(), "fake")
    }

    #[test]
    fn phases_follow_the_containers() {
        let t = Instant::now();
        let mut main = vec![slot(false)];
        assert_eq!(phase(&[], &main), "Pending");
        main[0].on_started(ContainerId("a".into()), Timestamp::now(), t);
        assert_eq!(phase(&[], &main), "Running");
        main[0].on_exit(&ExitInfo::default(), false, t);
        assert_eq!(phase(&[], &main), "Succeeded");
        let mut failed = vec![slot(false)];
        failed[0].on_started(ContainerId("b".into()), Timestamp::now(), t);
        failed[0].on_exit(&ExitInfo { exit_code: 1, ..Default::default() }, false, t);
        assert_eq!(phase(&[], &failed), "Failed");
        let init = vec![slot(true)];
        assert_eq!(phase(&init, &main), "Pending");
    }

    #[test]
    fn unchanged_containers_give_an_equal_status() {
        let t = Instant::now();
        let mut main = vec![slot(false)];
        main[0].on_started(ContainerId("a".into()), Timestamp::now(), t);
        let first =
            pod_status(&PodStatus::default(), &[], &main, Some("127.64.0.1"), "127.1.0.1", None, Timestamp::now());
        let later = Timestamp::now() + std::time::Duration::from_secs(5);
        let second = pod_status(&first, &[], &main, Some("127.64.0.1"), "127.1.0.1", None, later);
        assert_eq!(first, second);
        assert!(find_condition(&second.conditions, "Ready").unwrap().is_true());
    }
}
