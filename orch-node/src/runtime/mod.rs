//! `ContainerRuntime`: the small, CRI-like contract between the node agent and whatever runs containers.

#[cfg(feature = "docker")]
pub mod docker;
mod error;
pub mod fake;
pub mod process;
mod types;

use std::time::Duration;

use async_trait::async_trait;

pub use error::RuntimeError;
pub use types::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerLimits, ContainerRunState, ExecResult, ExitInfo,
    LABEL_CONTAINER_NAME, LABEL_NODE_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, ListFilter, LogOptions,
    LogStream, PodRef, grace_from_seconds,
};

/// Runs containers for the node agent: ensure an image, create, start, stop, remove, inspect,
/// list, read logs and run commands inside (for exec probes).
///
/// The agent drives one attempt of one container through `create` → `start` → (`wait` returns)
/// → `remove`; a restart is a new container with the next attempt number. Every container
/// carries the labels of [`ContainerConfig::all_labels`], so after an agent restart `list`
/// finds what belongs to which pod.
///
/// # Guarantees
/// - `stop` is idempotent: stopping an exited container succeeds. After `stop` returns, the
///   container and everything it started are gone (no process leaks).
/// - `remove` of a running container stops it first (with no grace); removing an unknown id is
///   `NotFound`.
/// - `wait` resolves once the container has exited, also for containers adopted after a restart.
///
/// # Errors
/// Every method returns a [`RuntimeError`] naming what failed.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use orch_node::runtime::{ContainerConfig, ContainerRuntime, FakeRuntime, RuntimeError};
///
/// async fn run_once(rt: &dyn ContainerRuntime, cfg: &ContainerConfig) -> Result<i32, RuntimeError> {
///     rt.ensure_image(&cfg.image).await?;
///     let id = rt.create(cfg).await?;
///     rt.start(&id).await?;
///     let exit = rt.wait(&id).await?;
///     rt.remove(&id).await?;
///     Ok(exit.exit_code)
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rt = FakeRuntime::new(Default::default());
/// let cfg = ContainerConfig { name: "c".into(), image: "exit-3".into(), ..Default::default() };
/// rt.script_image("exit-3", orch_node::runtime::fake::FakeScript::default().exit_after(Duration::ZERO, 3));
/// assert_eq!(run_once(&rt, &cfg).await.unwrap(), 3);
/// # }
/// ```
#[async_trait]
pub trait ContainerRuntime: Send + Sync {
    /// A short name of the runtime (`process`, `docker`, `fake`), used in `containerID`s.
    fn name(&self) -> &str;

    /// Makes sure the image can be run (pulls it where the runtime pulls).
    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError>;

    /// Creates a container (not started).
    async fn create(&self, config: &ContainerConfig) -> Result<ContainerId, RuntimeError>;

    /// Starts a created container.
    async fn start(&self, id: &ContainerId) -> Result<(), RuntimeError>;

    /// Asks the container to stop (SIGTERM or the like), force-kills it after `grace`, and
    /// returns once it has exited.
    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<(), RuntimeError>;

    /// Removes a container and its resources (logs stay readable until then).
    async fn remove(&self, id: &ContainerId) -> Result<(), RuntimeError>;

    /// Reports one container.
    async fn status(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError>;

    /// Lists the containers passing `filter`.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<ContainerInfo>, RuntimeError>;

    /// Resolves when the container has exited, with how it ended.
    async fn wait(&self, id: &ContainerId) -> Result<ExitInfo, RuntimeError>;

    /// Reads the container's output.
    async fn logs(&self, id: &ContainerId, options: &LogOptions) -> Result<LogStream, RuntimeError>;

    /// Runs a command in the container's context, killed after `timeout`.
    async fn exec(&self, id: &ContainerId, command: &[String], timeout: Duration) -> Result<ExecResult, RuntimeError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn ContainerRuntime) {}

#[cfg(feature = "docker")]
pub use docker::{DockerConfig, DockerRuntime};
pub use fake::FakeRuntime;
pub use process::{ProcessConfig, ProcessRuntime, kill_recorded_containers, process_exists};
