//! `DockerRuntime` (feature `docker`): containers through the Docker Engine API.
//!
//! - **Network**: host networking (`network_mode: host`), so a container reaches and binds the
//!   pod's own loopback IP (given to it as `POD_IP` by the downward API) exactly like a process
//!   pod; Docker's default bridge is never used.
//! - **Labels**: every container carries the `orch.io/*` labels of
//!   [`ContainerConfig::all_labels`], which tie it to its pod and node, so a restarted agent
//!   lists, adopts or removes what it finds.
//! - **Images**: used if present; otherwise pulled (an engine without a registry fails with
//!   [`RuntimeError::ImageNotFound`]).
//! - **Limits**: memory and CPU limits go to the engine (`Memory`, `NanoCpus`); an OOM kill is
//!   reported as `OOMKilled`.
//! - **Stop**: the engine sends SIGTERM, then SIGKILL after the grace period, to the
//!   container's whole PID namespace.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ContainerInspectResponse, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, StartContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use futures::StreamExt;
use orch_core::Timestamp;

use super::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerRunState, ContainerRuntime, ExecResult, ExitInfo,
    LABEL_CONTAINER_NAME, LABEL_NODE_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, ListFilter, LogOptions,
    LogStream, PodRef, RuntimeError,
};

/// Label carrying the attempt number of a container.
pub const LABEL_ATTEMPT: &str = "orch.io/attempt";

/// Configuration of a [`DockerRuntime`].
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The engine's socket (default `/var/run/docker.sock`, or `DOCKER_HOST` when it is a
    /// `unix://` address).
    pub socket: String,
    /// Timeout of one engine request, in seconds.
    pub request_timeout_secs: u64,
    /// Pull images that are not present (default true; with no registry reachable, a missing
    /// image fails either way).
    pub pull: bool,
}

impl Default for DockerConfig {
    fn default() -> Self {
        let socket = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| h.starts_with("unix://"))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        DockerConfig { socket, request_timeout_secs: 120, pull: true }
    }
}

impl DockerConfig {
    /// Sets the socket path.
    pub fn socket(mut self, socket: impl Into<String>) -> Self {
        self.socket = socket.into();
        self
    }

    /// Sets whether missing images are pulled.
    pub fn pull(mut self, pull: bool) -> Self {
        self.pull = pull;
        self
    }
}

/// Runs containers on a Docker engine (see the module docs).
#[derive(Clone, Debug)]
pub struct DockerRuntime {
    docker: Docker,
    config: DockerConfig,
}

fn engine(e: DockerError) -> RuntimeError {
    match e {
        DockerError::DockerResponseServerError { status_code: 404, message } => RuntimeError::NotFound { id: message },
        other => RuntimeError::Backend(other.to_string()),
    }
}

impl DockerRuntime {
    /// Connects to the engine and agrees on an API version.
    ///
    /// # Errors
    /// [`RuntimeError::Unreachable`] when no engine answers on the socket.
    pub async fn connect(config: DockerConfig) -> Result<Self, RuntimeError> {
        let unreachable = |e: DockerError| RuntimeError::Unreachable(format!("{}: {e}", config.socket));
        let docker =
            Docker::connect_with_unix(&config.socket, config.request_timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(unreachable)?;
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        docker.ping().await.map_err(unreachable)?;
        Ok(DockerRuntime { docker, config })
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInspectResponse, RuntimeError> {
        self.docker.inspect_container(&id.0, None::<InspectContainerOptions>).await.map_err(|e| match engine(e) {
            RuntimeError::NotFound { .. } => RuntimeError::NotFound { id: id.0.clone() },
            other => other,
        })
    }

    fn info_of(
        id: ContainerId,
        labels: &HashMap<String, String>,
        image: String,
        state: ContainerRunState,
        started: Option<Timestamp>,
    ) -> ContainerInfo {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        ContainerInfo {
            id,
            pod: PodRef { namespace: get(LABEL_POD_NAMESPACE), name: get(LABEL_POD_NAME), uid: get(LABEL_POD_UID) },
            name: get(LABEL_CONTAINER_NAME),
            attempt: get(LABEL_ATTEMPT).parse().unwrap_or(0),
            image,
            state,
            started_at: started,
            pid: None,
        }
    }
}

fn timestamp(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|s| s.parse::<Timestamp>().ok()).filter(|t| t.unix_seconds() > 0)
}

fn state_of(r: &ContainerInspectResponse) -> (ContainerRunState, Option<Timestamp>) {
    let Some(s) = &r.state else { return (ContainerRunState::Created, None) };
    let started = timestamp(s.started_at.as_deref());
    if s.running == Some(true) {
        return (ContainerRunState::Running, started);
    }
    if started.is_none() {
        return (ContainerRunState::Created, None);
    }
    let code = s.exit_code.unwrap_or(0) as i32;
    let reason = if s.oom_killed == Some(true) { Some("OOMKilled".to_owned()) } else { None };
    let exit = ExitInfo {
        exit_code: code,
        signal: (code > 128).then_some(code - 128),
        reason,
        finished_at: timestamp(s.finished_at.as_deref()),
    };
    (ContainerRunState::Exited(exit), started)
}

/// A Docker-safe container name for one attempt of one container of one pod.
fn container_name(c: &ContainerConfig) -> String {
    let uid: String = c.pod.uid.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    let raw = format!("orch_{}_{}_{}_{}_{uid}", c.pod.namespace, c.pod.name, c.name, c.attempt);
    raw.chars().map(|ch| if ch.is_ascii_alphanumeric() || "_.-".contains(ch) { ch } else { '-' }).collect()
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    fn name(&self) -> &str {
        "docker"
    }

    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        if self.docker.inspect_image(image).await.is_ok() {
            return Ok(());
        }
        if !self.config.pull {
            return Err(RuntimeError::ImageNotFound {
                image: image.into(),
                reason: "not present; pulling is off".into(),
            });
        }
        let opts = CreateImageOptions { from_image: Some(image.to_owned()), ..Default::default() };
        let mut pull = self.docker.create_image(Some(opts), None, None);
        while let Some(step) = pull.next().await {
            if let Err(e) = step {
                return Err(RuntimeError::ImageNotFound { image: image.into(), reason: format!("pull failed: {e}") });
            }
        }
        Ok(())
    }

    async fn create(&self, config: &ContainerConfig) -> Result<ContainerId, RuntimeError> {
        let mut labels: HashMap<String, String> = config.all_labels().into_iter().collect();
        labels.insert(LABEL_ATTEMPT.into(), config.attempt.to_string());
        let host = HostConfig {
            network_mode: Some("host".into()),
            memory: config.limits.memory_bytes.map(|b| b as i64),
            // No swap beyond the memory limit, so the limit means what it says.
            memory_swap: config.limits.memory_bytes.map(|b| b as i64),
            nano_cpus: config.limits.cpu_millis.map(|m| (m * 1_000_000) as i64),
            init: Some(true),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(config.image.clone()),
            entrypoint: (!config.command.is_empty()).then(|| config.command.clone()),
            cmd: (!config.args.is_empty()).then(|| config.args.clone()),
            env: Some(config.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: config.working_dir.clone(),
            labels: Some(labels),
            host_config: Some(host),
            ..Default::default()
        };
        let opts = CreateContainerOptions { name: Some(container_name(config)), ..Default::default() };
        let created = self.docker.create_container(Some(opts), body).await.map_err(engine)?;
        Ok(ContainerId(created.id))
    }

    async fn start(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.docker.start_container(&id.0, None::<StartContainerOptions>).await.map_err(engine)
    }

    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<(), RuntimeError> {
        let opts = StopContainerOptions { t: Some(grace.as_secs().min(i32::MAX as u64) as i32), signal: None };
        match self.docker.stop_container(&id.0, Some(opts)).await {
            // 304: already stopped.
            Ok(()) | Err(DockerError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(engine(e)),
        }
    }

    async fn remove(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let opts = RemoveContainerOptions { force: true, v: true, ..Default::default() };
        self.docker.remove_container(&id.0, Some(opts)).await.map_err(engine)
    }

    async fn status(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        let r = self.inspect(id).await?;
        let (state, started) = state_of(&r);
        let labels = r.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
        let image = r.config.as_ref().and_then(|c| c.image.clone()).unwrap_or_default();
        let mut info = Self::info_of(id.clone(), &labels, image, state, started);
        info.pid = r.state.as_ref().and_then(|s| s.pid).filter(|p| *p > 0).map(|p| p as i32);
        Ok(info)
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let mut labels = vec![LABEL_POD_UID.to_owned()];
        if let Some(uid) = &filter.pod_uid {
            labels.push(format!("{LABEL_POD_UID}={uid}"));
        }
        if let Some(node) = &filter.node_name {
            labels.push(format!("{LABEL_NODE_NAME}={node}"));
        }
        let opts = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_owned(), labels)])),
            ..Default::default()
        };
        let found = self.docker.list_containers(Some(opts)).await.map_err(engine)?;
        let mut out = Vec::with_capacity(found.len());
        for c in found {
            let Some(id) = c.id else { continue };
            match self.status(&ContainerId(id)).await {
                Ok(info) => out.push(info),
                Err(RuntimeError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn wait(&self, id: &ContainerId) -> Result<ExitInfo, RuntimeError> {
        loop {
            let opts = WaitContainerOptions { condition: "not-running".into() };
            // The engine answers once the container stops (a non-zero code comes as an error).
            let mut waiting = self.docker.wait_container(&id.0, Some(opts));
            let _ = waiting.next().await;
            match state_of(&self.inspect(id).await?).0 {
                ContainerRunState::Exited(e) => return Ok(e),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn logs(&self, id: &ContainerId, options: &LogOptions) -> Result<LogStream, RuntimeError> {
        self.inspect(id).await?;
        let opts = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            tail: options.tail_lines.map(|n| n.to_string()).unwrap_or_else(|| "all".into()),
            ..Default::default()
        };
        let stream = self.docker.logs(&id.0, Some(opts)).map(|r| r.map(|o| o.into_bytes()).map_err(engine));
        Ok(stream.boxed())
    }

    async fn exec(&self, id: &ContainerId, command: &[String], timeout: Duration) -> Result<ExecResult, RuntimeError> {
        let opts = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(command.to_vec()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&id.0, opts).await.map_err(engine)?;
        let run = async {
            let mut output = Vec::new();
            if let StartExecResults::Attached { output: mut out, .. } =
                self.docker.start_exec(&exec.id, None).await.map_err(engine)?
            {
                while let Some(chunk) = out.next().await {
                    output.extend_from_slice(&chunk.map_err(engine)?.into_bytes());
                }
            }
            let inspect = self.docker.inspect_exec(&exec.id).await.map_err(engine)?;
            Ok::<_, RuntimeError>(ExecResult {
                exit_code: inspect.exit_code.unwrap_or(-1) as i32,
                output,
                timed_out: false,
            })
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) => Ok(ExecResult { exit_code: -1, output: Vec::new(), timed_out: true }),
        }
    }
}
