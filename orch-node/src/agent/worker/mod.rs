//! The per-pod worker: drives a pod's containers from what runs to what the pod asks for.

mod adopt;
mod deadline;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use orch_core::kinds::{Pod, PodStatus, Service, find_condition};
use orch_core::store::{DeleteOptions, Preconditions, WriteOptions};
use orch_core::{Api, DynamicObject, ObjectMeta, Resource, StoreError, Timestamp};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Shared;
use super::env::{container_env, expand_command};
use super::slot::{Slot, restarts};
use super::status::{failed, pod_status};
use crate::probe::{ProbeTarget, run_probe};
use crate::runtime::{ContainerConfig, ContainerId, ContainerInfo, ContainerLimits, ExitInfo, PodRef};

/// The latest word on a pod, sent by the pod loop to the pod's worker.
#[derive(Clone, Debug)]
pub(crate) struct PodUpdate {
    /// The pod as last seen.
    pub pod: Arc<Pod>,
    /// The pod object is gone from the store (or no longer bound here).
    pub removed: bool,
}

type ExitFuture = BoxFuture<'static, (usize, ContainerId, ExitInfo)>;

pub(crate) struct Worker {
    shared: Arc<Shared>,
    uid: String,
    init: Vec<Slot>,
    main: Vec<Slot>,
    pod_ip: Option<Ipv4Addr>,
    written: Option<PodStatus>,
    start_time: Timestamp,
    exits: FuturesUnordered<ExitFuture>,
    retry_status_at: Option<Instant>,
    /// When `activeDeadlineSeconds` runs out.
    deadline: Option<Instant>,
    /// Why the agent itself failed the pod (`DeadlineExceeded`), with a message.
    failure: Option<(String, String)>,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, pod: &Pod) -> Self {
        let backoff = shared.config.backoff.with_annotations(&pod.metadata.annotations);
        let rt = shared.runtime.name().to_owned();
        let slots = |cs: &[orch_core::kinds::Container], init| {
            cs.iter().map(|c| Slot::new(c.clone(), init, backoff, &rt)).collect::<Vec<_>>()
        };
        Worker {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            init: slots(&pod.spec.init_containers, true),
            main: slots(&pod.spec.containers, false),
            shared,
            pod_ip: None,
            written: None,
            start_time: Timestamp::now(),
            exits: FuturesUnordered::new(),
            retry_status_at: None,
            deadline: None,
            failure: None,
        }
    }

    fn slot_mut(&mut self, idx: usize) -> &mut Slot {
        let n = self.init.len();
        if idx < n { &mut self.init[idx] } else { &mut self.main[idx - n] }
    }

    fn slot_index(&self, name: &str, init: bool) -> Option<usize> {
        if init {
            self.init.iter().position(|s| s.container.name == name)
        } else {
            self.main.iter().position(|s| s.container.name == name).map(|i| i + self.init.len())
        }
    }

    fn watch_exit(&mut self, idx: usize, id: ContainerId) {
        let rt = self.shared.runtime.clone();
        self.exits.push(Box::pin(async move {
            let exit = rt.wait(&id).await.unwrap_or_else(|_| ExitInfo {
                exit_code: 255,
                reason: Some("Unknown".into()),
                finished_at: Some(Timestamp::now()),
                signal: None,
            });
            (idx, id, exit)
        }));
    }

    /// The Services of the namespace as a container starts (Kubernetes passes the Services
    /// that exist then): from the agent's service cache, or listed while it has not synced.
    async fn services(shared: &Shared, namespace: &str) -> Vec<Service> {
        if let Some(cached) = shared.services.in_namespace(namespace) {
            return cached;
        }
        let api: Api<Service> = Api::namespaced(shared.store.clone(), namespace);
        api.list(&Default::default()).await.map(|l| l.items).unwrap_or_else(|e| {
            tracing::warn!(namespace, error = %e, "cannot list services for the environment");
            Vec::new()
        })
    }

    async fn start(&mut self, idx: usize, pod: &Pod) {
        let now = Instant::now();
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let host_ip = self.shared.config.node_ip.to_string();
        let services = Self::services(&self.shared, pod.metadata.namespace_str()).await;
        let runtime = self.shared.runtime.clone();
        let node_name = self.shared.config.node_name.clone();
        let slot = self.slot_mut(idx);
        if let Some(old) = slot.id.take()
            && let Some(older) = slot.previous_id.replace(old)
        {
            let _ = runtime.remove(&older).await;
        }
        let c = &slot.container;
        let env = container_env(pod, c, &pod_ip, &host_ip, &services);
        let (command, args) = expand_command(c, &env);
        let config = ContainerConfig {
            pod: PodRef {
                namespace: pod.metadata.namespace_str().to_owned(),
                name: pod.metadata.name_str().to_owned(),
                uid: pod.metadata.uid.clone().unwrap_or_default(),
            },
            node_name,
            name: c.name.clone(),
            attempt: slot.next_attempt,
            image: c.image.clone(),
            command,
            args,
            env,
            working_dir: c.working_dir.clone(),
            pod_ip: (!pod_ip.is_empty()).then(|| pod_ip.clone()),
            hostname: Some(pod.spec.hostname.clone().unwrap_or_else(|| pod.metadata.name_str().to_owned())),
            limits: limits_of(c),
            labels: Default::default(),
        };
        if let Err(e) = runtime.ensure_image(&config.image).await {
            slot.on_start_failed("ErrImagePull", e.to_string(), now);
            return;
        }
        let id = match runtime.create(&config).await {
            Ok(id) => id,
            Err(e) => return slot.on_start_failed("CreateContainerError", e.to_string(), now),
        };
        if let Err(e) = runtime.start(&id).await {
            let _ = runtime.remove(&id).await;
            return slot.on_start_failed("RunContainerError", e.to_string(), now);
        }
        slot.on_started(id.clone(), Timestamp::now(), Instant::now());
        self.watch_exit(idx, id);
    }

    /// Starts what is due, in order: init containers one at a time to completion, then the
    /// main containers.
    async fn start_due(&mut self, pod: &Pod) {
        let now = Instant::now();
        for i in 0..self.init.len() {
            if self.init[i].succeeded() {
                continue;
            }
            if self.init[i].start_due(now) {
                self.start(i, pod).await;
            }
            return;
        }
        for j in 0..self.main.len() {
            if self.main[j].start_due(now) {
                self.start(self.init.len() + j, pod).await;
            }
        }
    }

    /// Runs the probes that are due; a failed liveness or startup probe stops the container
    /// (its exit then restarts it as a crash would).
    async fn run_probes(&mut self, pod: &Pod) {
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_else(|| self.shared.config.node_ip.to_string());
        let runtime = self.shared.runtime.clone();
        let pod_grace = pod.spec.termination_grace_period_seconds.unwrap_or(30);
        for slot in self.main.iter_mut() {
            let (true, Some(id)) = (slot.running, slot.id.clone()) else { continue };
            let target = ProbeTarget { pod_ip: pod_ip.clone(), ports: slot.container.ports.clone() };
            let now = Instant::now();
            let mut kill_grace = None;
            if !slot.started {
                if let (Some(state), Some(spec)) = (slot.startup.as_mut(), slot.container.startup_probe.as_ref())
                    && state.is_due(now)
                {
                    let ok = run_probe(spec, &target, runtime.as_ref(), &id, state.timing().timeout).await;
                    if state.record(ok, Instant::now()) == Some(true) {
                        slot.started = true;
                        slot.ready = slot.readiness.is_none();
                    } else if !ok && state.failures() >= state.timing().failure_threshold {
                        kill_grace = Some(spec.termination_grace_period_seconds.unwrap_or(pod_grace));
                    }
                }
            } else {
                if let (Some(state), Some(spec)) = (slot.liveness.as_mut(), slot.container.liveness_probe.as_ref())
                    && state.is_due(now)
                {
                    let ok = run_probe(spec, &target, runtime.as_ref(), &id, state.timing().timeout).await;
                    if state.record(ok, Instant::now()) == Some(false) {
                        kill_grace = Some(spec.termination_grace_period_seconds.unwrap_or(pod_grace));
                    }
                }
                if let (Some(state), Some(spec)) = (slot.readiness.as_mut(), slot.container.readiness_probe.as_ref())
                    && state.is_due(now)
                {
                    let ok = run_probe(spec, &target, runtime.as_ref(), &id, state.timing().timeout).await;
                    state.record(ok, Instant::now());
                    slot.ready = state.passing();
                }
            }
            if let Some(grace) = kill_grace {
                tracing::info!(pod = %pod.metadata.name_str(), container = %slot.container.name, "probe failed; restarting container");
                slot.ready = false;
                slot.liveness = None;
                slot.readiness = None;
                slot.startup = None;
                if let Err(e) = runtime.stop(&id, Duration::from_secs(grace.max(0) as u64)).await {
                    tracing::warn!(container = %id, error = %e, "stopping an unhealthy container failed");
                }
            }
        }
    }

    async fn publish(&mut self, pod: &Pod) {
        // Someone else (the node lifecycle controller, while this node was unreachable) changed
        // the Ready condition this agent reported: report it again, as the kubelet's status
        // manager does, with a new transition time (the controller leaves a pod alone that
        // turned Ready after the node became unreachable).
        let ready = |s: &PodStatus| find_condition(&s.conditions, "Ready").map(|c| c.status.clone());
        let drifted = self.written.as_ref().is_some_and(|w| ready(w) != ready(&pod.status));
        let previous =
            if drifted { pod.status.clone() } else { self.written.clone().unwrap_or_else(|| pod.status.clone()) };
        let ip = self.pod_ip.map(|ip| ip.to_string());
        let host_ip = self.shared.config.node_ip.to_string();
        let status = pod_status(
            &previous,
            &self.init,
            &self.main,
            ip.as_deref(),
            &host_ip,
            Some(self.start_time),
            Timestamp::now(),
        );
        let status = match &self.failure {
            Some((reason, message)) => failed(status, reason, message),
            None => status,
        };
        if !drifted && (self.written.as_ref() == Some(&status) || (self.written.is_none() && pod.status == status)) {
            self.written = Some(status);
            return;
        }
        let mut meta = ObjectMeta::named(pod.metadata.name_str()).in_namespace(pod.metadata.namespace_str());
        meta.uid = pod.metadata.uid.clone();
        // Only `status` is read by the store; the uid guards against a pod recreated under the
        // same name. The stored object that comes back is not needed (no decode).
        let update = Pod { metadata: meta, spec: Default::default(), status: status.clone() };
        let written = match DynamicObject::from_typed(&update) {
            Ok(obj) => self.shared.store.update_status(&Pod::resource_type(), obj, &WriteOptions::default()).await,
            Err(e) => Err(StoreError::internal(format!("encoding pod status: {e}"))),
        };
        match written {
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {
                self.written = Some(status);
                self.retry_status_at = None;
            }
            Err(e) => {
                tracing::warn!(pod = %pod.metadata.name_str(), error = %e, "writing pod status failed; will retry");
                self.retry_status_at = Some(Instant::now() + self.shared.config.retry_interval);
            }
        }
    }

    /// Stops and removes every container, frees the IP, and (when the pod object is being
    /// deleted) confirms the deletion.
    async fn terminate(&mut self, pod: &Pod, confirm: bool) {
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or(pod.spec.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(0) as u64;
        let ids: Vec<ContainerId> =
            self.init.iter().chain(&self.main).flat_map(|s| s.id.iter().chain(&s.previous_id).cloned()).collect();
        let runtime = self.shared.runtime.clone();
        let stops = ids.iter().map(|id| runtime.stop(id, Duration::from_secs(grace)));
        for r in futures::future::join_all(stops).await {
            if let Err(e) = r {
                tracing::warn!(pod = %pod.metadata.name_str(), error = %e, "stopping a container failed");
            }
        }
        for id in &ids {
            let _ = runtime.remove(id).await;
        }
        self.shared.ips.release(&self.uid);
        if confirm {
            let api: Api<Pod> = Api::namespaced(self.shared.store.clone(), pod.metadata.namespace_str());
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..Default::default()
            };
            match api.delete(pod.metadata.name_str(), &opts).await {
                Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
                Err(e) => tracing::warn!(pod = %pod.metadata.name_str(), error = %e, "confirming pod deletion failed"),
            }
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let deadline = self.deadline.filter(|_| self.failure.is_none());
        self.init.iter().chain(&self.main).filter_map(Slot::next_wake).chain(self.retry_status_at).chain(deadline).min()
    }

    /// Runs the worker until the pod is gone (then its containers are too) or the agent stops
    /// (then they keep running, for the next agent to adopt).
    pub async fn run(
        mut self,
        mut updates: watch::Receiver<PodUpdate>,
        adopted: Vec<ContainerInfo>,
        done: mpsc::UnboundedSender<String>,
    ) {
        let first = updates.borrow_and_update().clone();
        let preferred = first.pod.status.pod_ip.as_deref().and_then(|ip| ip.parse().ok());
        self.shared.learn_pod_cidr().await;
        self.pod_ip = self.shared.ips.allocate(&self.uid, preferred);
        if self.pod_ip.is_none() {
            tracing::warn!(pod = %first.pod.metadata.name_str(), "pod range is full; the pod runs without its own IP");
        }
        // A pod that already finished (seen again after an agent restart) is never run again.
        let terminal = first.pod.is_terminal();
        self.adopt(&first.pod, adopted).await;
        self.deadline = self.active_deadline(&first.pod);
        loop {
            let update = updates.borrow_and_update().clone();
            let pod = update.pod.as_ref();
            if update.removed || pod.metadata.deletion_timestamp.is_some() {
                self.terminate(pod, !update.removed).await;
                break;
            }
            self.enforce_deadline(pod).await;
            if !terminal {
                if self.failure.is_none() {
                    self.run_probes(pod).await;
                    self.start_due(pod).await;
                }
                self.publish(pod).await;
            }
            let wake = self.next_wake();
            let sleep = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                changed = updates.changed() => if changed.is_err() { return },
                Some((idx, id, exit)) = self.exits.next(), if !self.exits.is_empty() => {
                    let policy = pod.spec.restart_policy.clone();
                    let slot = self.slot_mut(idx);
                    if slot.id.as_ref() == Some(&id) && slot.running {
                        let restart = restarts(policy.as_deref(), slot.init, exit.exit_code);
                        slot.on_exit(&exit, restart, Instant::now());
                    }
                }
                () = sleep => {}
            }
        }
        let _ = done.send(self.uid.clone());
    }
}

/// Memory and CPU limits of a container, as numbers.
fn limits_of(c: &orch_core::kinds::Container) -> ContainerLimits {
    let parsed = |k: &str| c.resources.limits.get(k).and_then(|q| q.parse().ok());
    ContainerLimits {
        memory_bytes: parsed("memory").map(|q| q.value().max(0) as u64),
        cpu_millis: parsed("cpu").map(|q| q.millis().max(0) as u64),
    }
}
