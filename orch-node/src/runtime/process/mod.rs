//! `ProcessRuntime`: each container is a real OS process leading its own process group.
//!
//! - **Image**: a program path or a name on `PATH`. The process runs `command + args` when a
//!   command is given, else `image + args`.
//! - **Environment**: only the container's own variables (plus `PATH` from the agent when the
//!   container sets none, and `HOSTNAME`).
//! - **Logs**: stdout and stderr go, interleaved, to `<state_dir>/containers/<id>/container.log`;
//!   files larger than [`ProcessConfig::log_max_bytes`] are rotated (copy, then truncate).
//! - **Stop**: SIGTERM to the process group, SIGKILL to the group after the grace period, and
//!   a final SIGKILL to the group so that children the container left behind die too. A process
//!   that moved itself to another process group or session escapes that, unless the container
//!   has a cgroup (then `cgroup.kill` ends everything in it).
//! - **Limits**: memory and CPU limits go into a cgroup v2 group per container when the machine
//!   has a writable cgroup v2 hierarchy; otherwise they are *not enforced* and the runtime says
//!   so once in the log ([`ProcessRuntime::cgroup_status`] tells which).
//! - **Restart**: records in the state directory let a new `ProcessRuntime` on the same
//!   directory find the processes a previous one started.

mod cgroup;
mod config;
mod logfile;
mod record;
mod signals;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use orch_core::Timestamp;
use tokio::sync::watch;

use self::cgroup::Cgroups;
use self::record::{ContainerRecord, StateDir, process_start_ticks};
use super::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerRunState, ContainerRuntime, ExecResult, ExitInfo, ListFilter,
    LogOptions, LogStream, RuntimeError,
};

mod exec;

pub use config::ProcessConfig;
pub use signals::process_exists;

/// Kills the processes of every container recorded under `state_dir` (a [`ProcessRuntime`]'s
/// state directory) without a runtime, for tearing down a node whose agent is gone. A record
/// whose pid now belongs to an unrelated process is left alone. Returns how many containers
/// had a process to kill.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("orch-doc-leftovers-{}", std::process::id()));
/// assert_eq!(orch_node::runtime::kill_recorded_containers(&dir), 0, "nothing recorded");
/// ```
pub fn kill_recorded_containers(state_dir: &std::path::Path) -> usize {
    let mut killed = 0;
    for record in StateDir::new(state_dir.to_owned()).load_all() {
        if let (Some(pid), None) = (record.pid, &record.exit) {
            signals::kill_group(pid, record.pid_start_ticks);
            killed += 1;
        }
    }
    killed
}

struct Entry {
    record: ContainerRecord,
    exited: watch::Sender<Option<ExitInfo>>,
}

struct Inner {
    config: ProcessConfig,
    dir: StateDir,
    entries: Mutex<HashMap<ContainerId, Entry>>,
    cgroups: OnceLock<Result<Cgroups, String>>,
    rotator: OnceLock<()>,
}

/// Runs containers as OS processes (see the module docs for exactly how).
#[derive(Clone)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ProcessRuntime {
    /// A runtime over `config.state_dir`, adopting the containers recorded there: live ones
    /// are watched for exit, dead ones are reported as exited.
    ///
    /// # Errors
    /// When the state directory cannot be created.
    pub fn new(config: ProcessConfig) -> Result<Self, RuntimeError> {
        std::fs::create_dir_all(config.state_dir.join("containers"))?;
        let dir = StateDir::new(config.state_dir.clone());
        let inner = Arc::new(Inner {
            config,
            dir,
            entries: Mutex::new(HashMap::new()),
            cgroups: OnceLock::new(),
            rotator: OnceLock::new(),
        });
        let rt = ProcessRuntime { inner };
        rt.adopt_recorded();
        Ok(rt)
    }

    /// Whether cgroup v2 limits are enforced: `Ok(())`, or why not.
    pub fn cgroup_status(&self) -> Result<(), String> {
        self.cgroups().as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn cgroups(&self) -> &Result<Cgroups, String> {
        self.inner.cgroups.get_or_init(|| {
            let c = Cgroups::detect(&self.inner.config.cgroup_root);
            if let Err(why) = &c {
                tracing::warn!("cgroup v2 limits are NOT enforced for process containers: {why}");
            }
            c
        })
    }

    fn adopt_recorded(&self) {
        for mut record in self.inner.dir.load_all() {
            let id = ContainerId(record.id.clone());
            let alive = match (record.pid, record.pid_start_ticks, &record.exit) {
                (Some(pid), Some(ticks), None) => process_start_ticks(pid) == Some(ticks),
                _ => false,
            };
            if record.pid.is_some() && record.exit.is_none() && !alive {
                let exit = ExitInfo {
                    exit_code: 255,
                    reason: Some("Unknown".into()),
                    finished_at: Some(Timestamp::now()),
                    ..Default::default()
                };
                record.exit = Some((&exit).into());
                let _ = self.inner.dir.save(&record);
            }
            let (exited, _) = watch::channel(record.exit.as_ref().map(ExitInfo::from));
            let pid = record.pid.filter(|_| alive);
            lock(&self.inner.entries).insert(id.clone(), Entry { record, exited });
            if let Some(pid) = pid {
                self.spawn_poll_exit(id, pid);
            }
        }
    }

    /// Watches a process that is not our child (adopted) until it is gone.
    fn spawn_poll_exit(&self, id: ContainerId, pid: i32) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.config.poll_interval;
        handle.spawn(async move {
            let mut gone_polls = 0;
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let ticks = lock(&inner.entries).get(&id).and_then(|e| e.record.pid_start_ticks);
                if ticks.is_none() || process_start_ticks(pid) != ticks {
                    // The record on disk may hold the real exit (written by the process's
                    // parent, which may need a moment after the process is gone).
                    let exit = inner.dir.load(&id.0).ok().and_then(|r| r.exit).map(|e| ExitInfo::from(&e));
                    gone_polls += 1;
                    if exit.is_none() && gone_polls < 4 {
                        continue;
                    }
                    let exit = exit.unwrap_or(ExitInfo {
                        exit_code: 255,
                        reason: Some("Unknown".into()),
                        finished_at: Some(Timestamp::now()),
                        ..Default::default()
                    });
                    finish(&inner, &id, exit);
                    return;
                }
            }
        });
    }

    fn start_rotator(&self) {
        self.inner.rotator.get_or_init(|| {
            let weak: Weak<Inner> = Arc::downgrade(&self.inner);
            let every = self.inner.config.poll_interval;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(inner) = weak.upgrade() else { return };
                    let running: Vec<String> = lock(&inner.entries)
                        .values()
                        .filter(|e| e.record.pid.is_some() && e.exited.borrow().is_none())
                        .map(|e| e.record.id.clone())
                        .collect();
                    for id in running {
                        let path = inner.dir.log_path(&id);
                        if let Err(e) =
                            logfile::rotate_if_large(&path, inner.config.log_max_bytes, inner.config.log_max_files)
                        {
                            tracing::warn!(container = %id, error = %e, "log rotation failed");
                        }
                    }
                }
            });
        });
    }

    fn record(&self, id: &ContainerId) -> Result<(ContainerRecord, watch::Receiver<Option<ExitInfo>>), RuntimeError> {
        lock(&self.inner.entries)
            .get(id)
            .map(|e| (e.record.clone(), e.exited.subscribe()))
            .ok_or_else(|| RuntimeError::NotFound { id: id.0.clone() })
    }

    fn info(record: &ContainerRecord, exit: Option<ExitInfo>) -> ContainerInfo {
        let state = match (exit, record.pid) {
            (Some(e), _) => ContainerRunState::Exited(e),
            (None, Some(_)) => ContainerRunState::Running,
            (None, None) => ContainerRunState::Created,
        };
        ContainerInfo {
            id: ContainerId(record.id.clone()),
            pod: record.pod_ref(),
            name: record.name.clone(),
            attempt: record.attempt,
            image: record.image.clone(),
            state,
            started_at: record.started_at,
            pid: record.pid,
        }
    }
}

/// Records a container's exit (memory and disk) and wakes its waiters.
fn finish(inner: &Inner, id: &ContainerId, mut exit: ExitInfo) {
    if let Some(Ok(c)) = inner.cgroups.get() {
        if exit.reason.is_none() && c.oom_killed(&id.0) {
            exit.reason = Some("OOMKilled".into());
        }
        c.remove(&id.0);
    }
    let mut entries = lock(&inner.entries);
    if let Some(e) = entries.get_mut(id) {
        if e.exited.borrow().is_some() {
            return;
        }
        e.record.exit = Some((&exit).into());
        if let Err(err) = inner.dir.save(&e.record) {
            tracing::warn!(container = %id, error = %err, "cannot record container exit");
        }
        e.exited.send_replace(Some(exit));
    }
}

fn new_id() -> ContainerId {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = Timestamp::now();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    ContainerId(format!("{:x}{:08x}{:x}{:04x}", now.unix_seconds(), now.subsec_nanos(), std::process::id(), n & 0xffff))
}

/// The argv a container runs: `command + args`, else `image + args`.
pub(crate) fn argv_of(config: &ContainerConfig) -> Result<Vec<String>, RuntimeError> {
    let mut argv = if config.command.is_empty() { vec![config.image.clone()] } else { config.command.clone() };
    argv.extend(config.args.iter().cloned());
    if argv.first().is_none_or(String::is_empty) {
        return Err(RuntimeError::InvalidConfig(format!("container {:?} has no image and no command", config.name)));
    }
    Ok(argv)
}

#[async_trait]
impl ContainerRuntime for ProcessRuntime {
    fn name(&self) -> &str {
        "process"
    }

    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        exec::resolve_program(image, None).map(|_| ())
    }

    async fn create(&self, config: &ContainerConfig) -> Result<ContainerId, RuntimeError> {
        let argv = argv_of(config)?;
        let id = new_id();
        let mut record = ContainerRecord::new(&id, config, argv);
        if let Some(host) = &config.hostname
            && !record.env.iter().any(|(k, _)| k == "HOSTNAME")
        {
            record.env.insert(0, ("HOSTNAME".into(), host.clone()));
        }
        self.inner.dir.save(&record)?;
        let (exited, _) = watch::channel(None);
        lock(&self.inner.entries).insert(id.clone(), Entry { record, exited });
        Ok(id)
    }

    async fn start(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let (record, _) = self.record(id)?;
        if record.pid.is_some() {
            return Err(RuntimeError::InvalidState { id: id.0.clone(), reason: "already started".into() });
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.inner.dir.log_path(&id.0))?;
        let mut child = exec::command(&record.argv, &record.env, record.working_dir.as_deref())?
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| RuntimeError::Backend(format!("starting {:?}: {e}", record.argv.first())))?;
        let pid = child.id().map(|p| p as i32).ok_or_else(|| RuntimeError::backend("child has no pid"))?;
        let limits =
            crate::runtime::ContainerLimits { memory_bytes: record.memory_bytes, cpu_millis: record.cpu_millis };
        if limits != Default::default()
            && let Ok(c) = self.cgroups()
            && let Err(e) = c.apply(&id.0, pid, &limits)
        {
            tracing::warn!(container = %id, error = %e, "cannot apply cgroup limits");
        }
        {
            let mut entries = lock(&self.inner.entries);
            if let Some(e) = entries.get_mut(id) {
                e.record.pid = Some(pid);
                e.record.pid_start_ticks = process_start_ticks(pid);
                e.record.started_at = Some(Timestamp::now());
                self.inner.dir.save(&e.record)?;
            }
        }
        self.start_rotator();
        let weak = Arc::downgrade(&self.inner);
        let dir = self.inner.dir.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let exit = match child.wait().await {
                Ok(status) => exec::exit_info(status),
                Err(e) => ExitInfo { exit_code: 255, reason: Some(format!("wait failed: {e}")), ..Default::default() },
            };
            if let Some(inner) = weak.upgrade() {
                finish(&inner, &id, exit);
            } else if let Ok(mut r) = dir.load(&id.0) {
                // The runtime is gone (an agent restart): leave the exit for the next one.
                r.exit = Some((&exit).into());
                let _ = dir.save(&r);
            }
        });
        Ok(())
    }

    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<(), RuntimeError> {
        let (record, mut exited) = self.record(id)?;
        let Some(pid) = record.pid else { return Ok(()) };
        let leader_start = record.pid_start_ticks;
        let running = exited.borrow().is_none();
        if running {
            signals::term_group(pid, leader_start);
            let gone = tokio::time::timeout(grace, async { exited.wait_for(Option::is_some).await.is_ok() }).await;
            if gone.is_err() {
                signals::kill_group(pid, leader_start);
                let wait = async { exited.wait_for(Option::is_some).await.is_ok() };
                let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
            }
        }
        // Whatever the container left behind in its process group (and, with cgroups, in its
        // cgroup) dies with it.
        signals::kill_group(pid, leader_start);
        if let Some(Ok(c)) = self.inner.cgroups.get() {
            c.kill_all(&id.0);
        }
        Ok(())
    }

    async fn remove(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.stop(id, Duration::ZERO).await?;
        lock(&self.inner.entries).remove(id);
        self.inner.dir.delete(&id.0)?;
        Ok(())
    }

    async fn status(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        let (record, exited) = self.record(id)?;
        let exit = exited.borrow().clone();
        Ok(Self::info(&record, exit))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let entries = lock(&self.inner.entries);
        Ok(entries
            .values()
            .filter(|e| filter.matches(&e.record.pod_uid, &e.record.node_name))
            .map(|e| Self::info(&e.record, e.exited.borrow().clone()))
            .collect())
    }

    async fn wait(&self, id: &ContainerId) -> Result<ExitInfo, RuntimeError> {
        let (_, mut exited) = self.record(id)?;
        let exit = exited.wait_for(Option::is_some).await.map(|e| e.clone().unwrap_or_default());
        exit.map_err(|_| RuntimeError::NotFound { id: id.0.clone() })
    }

    async fn logs(&self, id: &ContainerId, options: &LogOptions) -> Result<LogStream, RuntimeError> {
        let (_, exited) = self.record(id)?;
        logfile::log_stream(self.inner.dir.log_path(&id.0), options, exited, Duration::from_millis(100))
    }

    async fn exec(&self, id: &ContainerId, command: &[String], timeout: Duration) -> Result<ExecResult, RuntimeError> {
        let (record, _) = self.record(id)?;
        exec::run(command, &record.env, record.working_dir.as_deref(), timeout).await
    }
}
