//! `activeDeadlineSeconds`: a pod that runs longer than its deadline is stopped and failed.

use std::time::Duration;

use orch_core::Timestamp;
use orch_core::kinds::Pod;
use tokio::time::Instant;

use super::Worker;
use crate::runtime::ExitInfo;

impl Worker {
    /// When the pod's active deadline (counted from its start time) runs out, if it has one.
    pub(super) fn active_deadline(&self, pod: &Pod) -> Option<Instant> {
        let secs = pod.spec.active_deadline_seconds.filter(|s| *s > 0)? as u64;
        let started = pod.status.start_time.unwrap_or(self.start_time);
        let active = Timestamp::now().saturating_duration_since(started);
        let left = Duration::from_secs(secs).saturating_sub(active);
        Some(Instant::now() + left)
    }

    /// Past the deadline: stops every container (with the pod's grace period) and marks the
    /// pod failed with reason `DeadlineExceeded`; nothing is started again.
    pub(super) async fn enforce_deadline(&mut self, pod: &Pod) {
        let (Some(deadline), None) = (self.deadline, &self.failure) else { return };
        if Instant::now() < deadline {
            return;
        }
        let grace = Duration::from_secs(pod.spec.termination_grace_period_seconds.unwrap_or(30).max(0) as u64);
        let runtime = self.shared.runtime.clone();
        let now = Instant::now();
        for slot in self.init.iter_mut().chain(self.main.iter_mut()) {
            if let (true, Some(id)) = (slot.running, slot.id.clone()) {
                let _ = runtime.stop(&id, grace).await;
                let exit = match runtime.status(&id).await.map(|i| i.state) {
                    Ok(crate::runtime::ContainerRunState::Exited(e)) => e,
                    _ => ExitInfo { exit_code: 137, signal: Some(9), ..Default::default() },
                };
                slot.on_exit(&exit, false, now);
            }
        }
        let secs = pod.spec.active_deadline_seconds.unwrap_or_default();
        let message = format!("Pod was active on the node longer than the specified deadline ({secs}s)");
        tracing::info!(pod = %pod.metadata.name_str(), "active deadline exceeded");
        self.failure = Some(("DeadlineExceeded".into(), message));
    }
}
