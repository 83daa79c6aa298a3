//! The pod loop: lists and watches the pods bound to this node, keeps one worker per pod and
//! does housekeeping (kills containers of pods it no longer has).

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use orch_core::kinds::Pod;
use orch_core::store::{ListParams, TypedEvent, WatchParams};
use orch_core::{Api, StoreError};
use tokio::sync::{mpsc, watch};

use super::Shared;
use super::worker::{PodUpdate, Worker};
use crate::runtime::{ContainerInfo, ListFilter};

struct PodLoop {
    shared: Arc<Shared>,
    workers: HashMap<String, watch::Sender<PodUpdate>>,
    /// Containers found at start-up, by pod uid, handed to the pod's worker once.
    found: HashMap<String, Vec<ContainerInfo>>,
    done_tx: mpsc::UnboundedSender<String>,
    done_rx: mpsc::UnboundedReceiver<String>,
}

impl PodLoop {
    fn dispatch(&mut self, pod: Pod, removed: bool) {
        let Some(uid) = pod.metadata.uid.clone() else { return };
        let update = PodUpdate { pod: Arc::new(pod), removed };
        if let Some(tx) = self.workers.get(&uid) {
            tx.send_replace(update);
            return;
        }
        if removed {
            // A pod we never ran; its containers (if any) are orphans.
            if let Some(found) = self.found.remove(&uid) {
                reap(&self.shared, found);
            }
            return;
        }
        let adopted = self.found.remove(&uid).unwrap_or_default();
        let worker = Worker::new(self.shared.clone(), &update.pod);
        let (tx, rx) = watch::channel(update);
        self.workers.insert(uid.clone(), tx);
        let task = tokio::spawn(worker.run(rx, adopted, self.done_tx.clone()));
        self.shared.worker_tasks.insert(uid, task.abort_handle());
    }

    /// Applies a full list: every listed pod is dispatched, workers of pods not listed are told
    /// their pod is gone.
    fn resync(&mut self, pods: Vec<Pod>) {
        let listed: std::collections::HashSet<String> = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        for pod in pods {
            self.dispatch(pod, false);
        }
        for (uid, tx) in &self.workers {
            if !listed.contains(uid) {
                let pod = tx.borrow().pod.clone();
                tx.send_replace(PodUpdate { pod, removed: true });
            }
        }
        // Containers of pods that do not exist are orphans: kill them.
        let orphans: Vec<ContainerInfo> =
            self.found.drain().filter(|(uid, _)| !listed.contains(uid)).flat_map(|(_, c)| c).collect();
        reap(&self.shared, orphans);
    }

    fn reap_done(&mut self) {
        while let Ok(uid) = self.done_rx.try_recv() {
            // A worker that finished while a newer update waits would be wrong to drop; the
            // pod is gone either way once its worker confirmed or saw removal.
            self.workers.remove(&uid);
            self.shared.worker_tasks.remove(&uid);
        }
    }

    /// Housekeeping: stops and removes the containers of this node whose pod has no worker
    /// here and is not awaiting adoption (a pod deleted while nobody watched, or a container
    /// left behind by an earlier agent). Workers are only added and removed by the pod loop
    /// itself, so the set checked is the one the listing saw.
    async fn housekeep(&mut self) {
        self.reap_done();
        let filter = ListFilter { node_name: Some(self.shared.config.node_name.clone()), pod_uid: None };
        let containers = match self.shared.runtime.list(&filter).await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "housekeeping: cannot list containers");
                return;
            }
        };
        let orphans: Vec<ContainerInfo> =
            orphans_of(containers, |uid| self.workers.contains_key(uid) || self.found.contains_key(uid));
        reap(&self.shared, orphans);
    }
}

/// The containers whose pod this agent does not have (`has` says whether it does).
fn orphans_of(containers: Vec<ContainerInfo>, has: impl Fn(&str) -> bool) -> Vec<ContainerInfo> {
    containers.into_iter().filter(|c| !has(&c.pod.uid)).collect()
}

/// The shortest housekeeping interval (a zero interval would spin).
const MIN_HOUSEKEEPING: std::time::Duration = std::time::Duration::from_millis(10);

fn reap(shared: &Arc<Shared>, orphans: Vec<ContainerInfo>) {
    if orphans.is_empty() {
        return;
    }
    let runtime = shared.runtime.clone();
    tokio::spawn(async move {
        for c in orphans {
            tracing::info!(container = %c.id, pod = %c.pod.name, "killing orphaned container");
            let _ = runtime.stop(&c.id, std::time::Duration::ZERO).await;
            let _ = runtime.remove(&c.id).await;
        }
    });
}

/// Runs the pod loop until `stop` turns true.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let filter = ListFilter { node_name: Some(shared.config.node_name.clone()), pod_uid: None };
    let mut found: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
    match shared.runtime.list(&filter).await {
        Ok(list) => {
            for c in list {
                found.entry(c.pod.uid.clone()).or_default().push(c);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list existing containers; none adopted"),
    }
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let mut pl = PodLoop { shared: shared.clone(), workers: HashMap::new(), found, done_tx, done_rx };
    let pods: Api<Pod> = Api::all(shared.store.clone());
    let selector = format!("spec.nodeName={}", shared.config.node_name);
    let retry = shared.config.retry_interval;
    let mut housekeeping = tokio::time::interval(shared.config.housekeeping_interval.max(MIN_HOUSEKEEPING));
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    housekeeping.reset();
    'relist: loop {
        if *stop.borrow() {
            return;
        }
        let list = match pods.list(&ListParams::default().fields(selector.clone())).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing pods failed; retrying");
                tokio::select! { _ = tokio::time::sleep(retry) => continue 'relist, _ = stop.changed() => return }
            }
        };
        let mut rv = list.resource_version.clone();
        pl.resync(list.items);
        loop {
            let params = WatchParams::default().fields(selector.clone()).from_version(rv.clone());
            let mut stream = match pods.watch(&params).await {
                Ok(s) => s,
                Err(StoreError::Gone { .. }) => continue 'relist,
                Err(e) => {
                    tracing::warn!(error = %e, "watching pods failed; retrying");
                    tokio::select! { _ = tokio::time::sleep(retry) => continue, _ = stop.changed() => return }
                }
            };
            loop {
                let ev = tokio::select! {
                    ev = stream.next() => ev,
                    _ = housekeeping.tick() => {
                        pl.housekeep().await;
                        continue;
                    }
                    _ = stop.changed() => return,
                };
                pl.reap_done();
                match ev {
                    Some(Ok(TypedEvent::Added(p) | TypedEvent::Modified(p))) => {
                        rv = p.metadata.resource_version.clone().unwrap_or(rv);
                        pl.dispatch(p, false);
                    }
                    Some(Ok(TypedEvent::Deleted(p))) => {
                        rv = p.metadata.resource_version.clone().unwrap_or(rv);
                        pl.dispatch(p, true);
                    }
                    Some(Ok(TypedEvent::Bookmark(v))) => rv = v,
                    Some(Err(StoreError::Gone { .. })) => continue 'relist,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "pod watch failed; resuming");
                        tokio::time::sleep(retry).await;
                        break;
                    }
                    None => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ContainerId, ContainerRunState, PodRef};

    fn container(uid: &str) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId(format!("c-{uid}")),
            pod: PodRef { namespace: "default".into(), name: uid.into(), uid: uid.into() },
            name: "c".into(),
            attempt: 0,
            image: "app".into(),
            state: ContainerRunState::Running,
            started_at: None,
            pid: None,
        }
    }

    #[test]
    fn orphans_are_the_containers_whose_pod_the_agent_does_not_have() {
        let containers = vec![container("kept"), container("replaced"), container("adopting")];
        let orphans = orphans_of(containers, |uid| uid == "kept" || uid == "adopting");
        let uids: Vec<&str> = orphans.iter().map(|c| c.pod.uid.as_str()).collect();
        assert_eq!(uids, ["replaced"]);
    }
}
