//! Adoption: a worker of a restarted agent takes over the containers it finds for its pod.

use orch_core::Timestamp;
use orch_core::kinds::Pod;
use tokio::time::Instant;

use super::Worker;
use crate::agent::slot::restarts;
use crate::runtime::{ContainerInfo, ContainerRunState};

impl Worker {
    /// Takes over containers found running for this pod (after an agent restart).
    pub(super) async fn adopt(&mut self, pod: &Pod, mut found: Vec<ContainerInfo>) {
        found.sort_by_key(|c| std::cmp::Reverse(c.attempt));
        let now = Instant::now();
        for info in found {
            let init = pod.spec.init_containers.iter().any(|c| c.name == info.name);
            let idx = self.slot_index(&info.name, init);
            let fresh = idx.is_some_and(|i| {
                let s = self.slot_mut(i);
                s.id.is_none() && !s.finished()
            });
            let (Some(idx), true) = (idx, fresh) else {
                let _ = self.shared.runtime.remove(&info.id).await;
                continue;
            };
            let previous = pod.status.container_statuses.iter().chain(&pod.status.init_container_statuses);
            let restarts_so_far = previous.filter(|s| s.name == info.name).map(|s| s.restart_count).max().unwrap_or(0);
            let policy = pod.spec.restart_policy.clone();
            let slot = self.slot_mut(idx);
            slot.next_attempt = info.attempt;
            slot.restart_count = restarts_so_far;
            let since = info.started_at.map(|s| Timestamp::now().saturating_duration_since(s)).unwrap_or_default();
            slot.on_started(
                info.id.clone(),
                info.started_at.unwrap_or_else(Timestamp::now),
                now.checked_sub(since).unwrap_or(now),
            );
            match info.state {
                ContainerRunState::Running => self.watch_exit(idx, info.id.clone()),
                ContainerRunState::Exited(exit) => {
                    let restart = restarts(policy.as_deref(), init, exit.exit_code);
                    self.slot_mut(idx).on_exit(&exit, restart, now);
                }
                ContainerRunState::Created => {
                    let _ = self.shared.runtime.remove(&info.id).await;
                    let s = self.slot_mut(idx);
                    s.id = None;
                    s.running = false;
                }
            }
            tracing::info!(pod = %pod.metadata.name_str(), container = %info.name, id = %info.id, "adopted container");
        }
    }
}
