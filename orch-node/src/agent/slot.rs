//! One container of a pod as the agent tracks it: attempts, backoff, probes and exits.

use orch_core::Timestamp;
use orch_core::kinds::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
};
use tokio::time::Instant;

use crate::backoff::{BackoffConfig, CrashBackoff};
use crate::probe::{ProbeState, ProbeTiming};
use crate::runtime::{ContainerId, ExitInfo};

/// What the agent knows about one container of a pod.
#[derive(Debug)]
pub(crate) struct Slot {
    pub container: Container,
    pub init: bool,
    pub id: Option<ContainerId>,
    /// The attempt before `id`, kept (exited) so its log stays readable until the next restart.
    pub previous_id: Option<ContainerId>,
    pub runtime_name: String,
    pub next_attempt: u32,
    pub restart_count: i32,
    pub running: bool,
    pub started_at: Option<Timestamp>,
    pub running_since: Option<Instant>,
    pub waiting: Option<(String, Option<String>)>,
    /// The final termination of a container that will not be restarted.
    pub terminated: Option<ContainerStateTerminated>,
    /// The previous termination of a container that was (or will be) restarted.
    pub last_termination: Option<ContainerStateTerminated>,
    pub backoff: CrashBackoff,
    pub next_start: Option<Instant>,
    pub startup: Option<ProbeState>,
    pub liveness: Option<ProbeState>,
    pub readiness: Option<ProbeState>,
    pub started: bool,
    pub ready: bool,
}

impl Slot {
    pub fn new(container: Container, init: bool, backoff: BackoffConfig, runtime_name: &str) -> Self {
        Slot {
            container,
            init,
            id: None,
            previous_id: None,
            runtime_name: runtime_name.to_owned(),
            next_attempt: 0,
            restart_count: 0,
            running: false,
            started_at: None,
            running_since: None,
            waiting: Some(("ContainerCreating".into(), None)),
            terminated: None,
            last_termination: None,
            backoff: CrashBackoff::new(backoff),
            next_start: None,
            startup: None,
            liveness: None,
            readiness: None,
            started: false,
            ready: false,
        }
    }

    /// Whether the container exited and will not run again.
    pub fn finished(&self) -> bool {
        self.terminated.is_some()
    }

    /// Whether it finished with exit code 0.
    pub fn succeeded(&self) -> bool {
        self.terminated.as_ref().is_some_and(|t| t.exit_code == 0)
    }

    /// Whether it has ever been started.
    pub fn ever_started(&self) -> bool {
        self.running || self.terminated.is_some() || self.last_termination.is_some()
    }

    /// Whether a start is due now (never started, or restart backoff elapsed).
    pub fn start_due(&self, now: Instant) -> bool {
        !self.running && !self.finished() && self.next_start.is_none_or(|t| now >= t)
    }

    /// Records a successful start of container `id` (attempt `next_attempt`) at `now`.
    pub fn on_started(&mut self, id: ContainerId, started_at: Timestamp, now: Instant) {
        self.id = Some(id);
        self.restart_count = self.restart_count.max(self.next_attempt as i32);
        self.next_attempt += 1;
        self.running = true;
        self.started_at = Some(started_at);
        self.running_since = Some(now);
        self.waiting = None;
        self.next_start = None;
        let c = &self.container;
        let timing = |p: &orch_core::kinds::Probe| ProbeTiming::of(p);
        self.startup = c.startup_probe.as_ref().map(|p| ProbeState::new(timing(p), now, false));
        self.liveness = c.liveness_probe.as_ref().map(|p| ProbeState::new(timing(p), now, true));
        self.readiness = c.readiness_probe.as_ref().map(|p| ProbeState::new(timing(p), now, false));
        self.started = self.startup.is_none();
        self.ready = self.readiness.is_none() && self.started;
    }

    /// A start that failed: wait out a backoff delay, showing `reason`.
    pub fn on_start_failed(&mut self, reason: &str, message: String, now: Instant) {
        let delay = self.backoff.next_delay(std::time::Duration::ZERO);
        self.waiting = Some((reason.to_owned(), Some(message)));
        self.next_start = Some(now + delay);
    }

    /// Records an exit; `restart` says whether the restart policy restarts it.
    pub fn on_exit(&mut self, exit: &ExitInfo, restart: bool, now: Instant) {
        let reason =
            exit.reason.clone().unwrap_or_else(|| if exit.exit_code == 0 { "Completed" } else { "Error" }.into());
        let term = ContainerStateTerminated {
            exit_code: exit.exit_code,
            signal: exit.signal,
            reason: Some(reason),
            message: None,
            started_at: self.started_at,
            finished_at: exit.finished_at.or_else(|| Some(Timestamp::now())),
            container_id: self.id.as_ref().map(|id| format!("{}://{id}", self.runtime_name)),
        };
        let ran_for = self.running_since.map(|s| now.saturating_duration_since(s)).unwrap_or_default();
        self.running = false;
        self.ready = false;
        self.startup = None;
        self.liveness = None;
        self.readiness = None;
        if restart {
            let delay = self.backoff.next_delay(ran_for);
            self.last_termination = Some(term);
            self.next_start = Some(now + delay);
            let msg = format!("back-off {}s restarting failed container {}", delay.as_secs_f64(), self.container.name);
            self.waiting = Some(("CrashLoopBackOff".into(), Some(msg)));
        } else {
            self.terminated = Some(term);
            self.waiting = None;
        }
    }

    /// The earliest time something is due for this container.
    pub fn next_wake(&self) -> Option<Instant> {
        let probes = [&self.startup, &self.liveness, &self.readiness];
        let probe_due =
            if self.running { probes.iter().filter_map(|p| p.as_ref()).map(ProbeState::next_at).min() } else { None };
        let start = if self.running || self.finished() { None } else { self.next_start };
        match (probe_due, start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The reported status of this container.
    pub fn status(&self) -> ContainerStatus {
        let state = if self.running {
            ContainerState {
                running: Some(ContainerStateRunning { started_at: self.started_at }),
                ..Default::default()
            }
        } else if let Some(t) = &self.terminated {
            ContainerState { terminated: Some(t.clone()), ..Default::default() }
        } else {
            let (reason, message) = self.waiting.clone().unwrap_or(("ContainerCreating".into(), None));
            ContainerState {
                waiting: Some(ContainerStateWaiting { reason: Some(reason), message }),
                ..Default::default()
            }
        };
        ContainerStatus {
            name: self.container.name.clone(),
            ready: self.ready,
            restart_count: self.restart_count,
            state: Some(state),
            last_state: self
                .last_termination
                .clone()
                .map(|t| ContainerState { terminated: Some(t), ..Default::default() }),
            image: self.container.image.clone(),
            image_id: String::new(),
            container_id: self.id.as_ref().map(|id| format!("{}://{id}", self.runtime_name)),
            started: Some(self.running && self.started),
        }
    }
}

/// Whether a container that exited with `exit_code` restarts under `policy`.
pub(crate) fn restarts(policy: Option<&str>, init: bool, exit_code: i32) -> bool {
    match policy.unwrap_or("Always") {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        // Init containers run to completion even under `Always`.
        _ => !init || exit_code != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn restart_policy_table() {
        let cases = [
            (Some("Always"), false, 0, true),
            (Some("Always"), false, 1, true),
            (None, false, 0, true),
            (Some("OnFailure"), false, 0, false),
            (Some("OnFailure"), false, 2, true),
            (Some("Never"), false, 2, false),
            (Some("Always"), true, 0, false),
            (Some("Always"), true, 1, true),
        ];
        for (policy, init, code, want) in cases {
            assert_eq!(restarts(policy, init, code), want, "{policy:?} init={init} code={code}");
        }
    }

    #[test]
    fn a_crash_backs_off_and_reports_crash_loop() {
        let c = Container { name: "c".into(), image: "x".into(), ..Default::default() };
        let cfg = BackoffConfig::default().initial(Duration::from_secs(1));
        let mut s = Slot::new(c, false, cfg, "fake");
        let t0 = Instant::now();
        s.on_started(ContainerId("a".into()), Timestamp::now(), t0);
        s.on_exit(&ExitInfo { exit_code: 3, ..Default::default() }, true, t0);
        assert_eq!(s.next_start, Some(t0 + Duration::from_secs(1)));
        let st = s.status();
        assert_eq!(st.state.unwrap().waiting.unwrap().reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(st.last_state.unwrap().terminated.unwrap().exit_code, 3);
        assert!(!s.start_due(t0));
        assert!(s.start_due(t0 + Duration::from_secs(1)));
        s.on_started(ContainerId("b".into()), Timestamp::now(), t0);
        assert_eq!(s.status().restart_count, 1);
    }
}
