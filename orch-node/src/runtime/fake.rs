//! `FakeRuntime`: containers without processes that start, run and exit on a script (like kwok).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use orch_core::Timestamp;
use tokio::sync::watch;

use super::{
    ContainerConfig, ContainerId, ContainerInfo, ContainerRunState, ContainerRuntime, ExecResult, ExitInfo, ListFilter,
    LogOptions, LogStream, RuntimeError,
};

/// How a fake container behaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeScript {
    /// How long `start` takes.
    pub start_delay: Duration,
    /// When set, the container exits this long after it started, with this code.
    pub exit: Option<(Duration, i32)>,
    /// Whether exec probes fail (they succeed by default).
    pub exec_fails: bool,
    /// What the container "printed".
    pub log: String,
}

impl FakeScript {
    /// Starting takes `delay`.
    pub fn start_delay(mut self, delay: Duration) -> Self {
        self.start_delay = delay;
        self
    }

    /// The container exits `after` its start with `code`.
    pub fn exit_after(mut self, after: Duration, code: i32) -> Self {
        self.exit = Some((after, code));
        self
    }

    /// Exec probes fail.
    pub fn exec_fails(mut self) -> Self {
        self.exec_fails = true;
        self
    }

    /// The container's log output.
    pub fn log(mut self, text: impl Into<String>) -> Self {
        self.log = text.into();
        self
    }
}

struct FakeContainer {
    config: ContainerConfig,
    script: FakeScript,
    started: Option<(Instant, Timestamp)>,
    exited: watch::Sender<Option<ExitInfo>>,
}

impl FakeContainer {
    /// The exit, scripted or forced, that has happened by now.
    fn exit_now(&self) -> Option<ExitInfo> {
        if let Some(e) = self.exited.borrow().clone() {
            return Some(e);
        }
        let (started, at) = self.started?;
        let (after, code) = self.script.exit?;
        (started.elapsed() >= after).then(|| ExitInfo {
            exit_code: code,
            finished_at: Some(at + after),
            ..Default::default()
        })
    }

    fn info(&self, id: &ContainerId) -> ContainerInfo {
        let state = match (self.exit_now(), self.started) {
            (Some(e), _) => ContainerRunState::Exited(e),
            (None, Some(_)) => ContainerRunState::Running,
            (None, None) => ContainerRunState::Created,
        };
        ContainerInfo {
            id: id.clone(),
            pod: self.config.pod.clone(),
            name: self.config.name.clone(),
            attempt: self.config.attempt,
            image: self.config.image.clone(),
            state,
            started_at: self.started.map(|s| s.1),
            pid: None,
        }
    }
}

/// Configuration of a [`FakeRuntime`].
#[derive(Clone, Debug, Default)]
pub struct FakeConfig {
    /// The script of images without their own.
    pub default_script: FakeScript,
}

/// A runtime with no processes: cheap enough for thousands of simulated nodes in one process.
///
/// Images behave by their script ([`FakeRuntime::script_image`]), else by the default one
/// (start at once, run until stopped).
pub struct FakeRuntime {
    config: FakeConfig,
    scripts: Mutex<HashMap<String, FakeScript>>,
    containers: Mutex<HashMap<ContainerId, FakeContainer>>,
    next_id: AtomicU64,
}

impl FakeRuntime {
    /// A fake runtime.
    pub fn new(config: FakeConfig) -> Self {
        FakeRuntime {
            config,
            scripts: Mutex::new(HashMap::new()),
            containers: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Sets the script of one image.
    pub fn script_image(&self, image: impl Into<String>, script: FakeScript) {
        lock(&self.scripts).insert(image.into(), script);
    }

    /// How many containers exist (created and not removed).
    pub fn container_count(&self) -> usize {
        lock(&self.containers).len()
    }

    fn with<T>(&self, id: &ContainerId, f: impl FnOnce(&mut FakeContainer) -> T) -> Result<T, RuntimeError> {
        let mut map = lock(&self.containers);
        map.get_mut(id).map(f).ok_or_else(|| RuntimeError::NotFound { id: id.0.clone() })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl ContainerRuntime for FakeRuntime {
    fn name(&self) -> &str {
        "fake"
    }

    async fn ensure_image(&self, _image: &str) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn create(&self, config: &ContainerConfig) -> Result<ContainerId, RuntimeError> {
        let id = ContainerId(format!("fake-{}", self.next_id.fetch_add(1, Ordering::Relaxed)));
        let script =
            lock(&self.scripts).get(&config.image).cloned().unwrap_or_else(|| self.config.default_script.clone());
        let (exited, _) = watch::channel(None);
        let c = FakeContainer { config: config.clone(), script, started: None, exited };
        lock(&self.containers).insert(id.clone(), c);
        Ok(id)
    }

    async fn start(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let delay = self.with(id, |c| c.script.start_delay)?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.with(id, |c| {
            if c.started.is_some() {
                return Err(RuntimeError::InvalidState { id: id.0.clone(), reason: "already started".into() });
            }
            c.started = Some((Instant::now(), Timestamp::now()));
            Ok(())
        })?
    }

    async fn stop(&self, id: &ContainerId, _grace: Duration) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            if c.exit_now().is_none() {
                let e =
                    ExitInfo { exit_code: 143, signal: Some(15), finished_at: Some(Timestamp::now()), reason: None };
                c.exited.send_replace(Some(e));
            }
        })
    }

    async fn remove(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let removed = lock(&self.containers).remove(id);
        match removed {
            Some(c) => {
                if c.exit_now().is_none() {
                    c.exited.send_replace(Some(ExitInfo { exit_code: 137, signal: Some(9), ..Default::default() }));
                }
                Ok(())
            }
            None => Err(RuntimeError::NotFound { id: id.0.clone() }),
        }
    }

    async fn status(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        self.with(id, |c| c.info(id))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let map = lock(&self.containers);
        Ok(map
            .iter()
            .filter(|(_, c)| filter.matches(&c.config.pod.uid, &c.config.node_name))
            .map(|(id, c)| c.info(id))
            .collect())
    }

    async fn wait(&self, id: &ContainerId) -> Result<ExitInfo, RuntimeError> {
        let (mut rx, deadline) = self.with(id, |c| {
            let deadline = match (c.started, c.script.exit) {
                (Some((started, _)), Some((after, _))) => Some(started + after),
                _ => None,
            };
            (c.exited.subscribe(), deadline)
        })?;
        let scripted = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            r = rx.wait_for(Option::is_some) => match r {
                Ok(e) => Ok(e.clone().unwrap_or_default()),
                Err(_) => Err(RuntimeError::NotFound { id: id.0.clone() }),
            },
            () = scripted => self.with(id, |c| c.exit_now().unwrap_or_default()),
        }
    }

    async fn logs(&self, id: &ContainerId, _options: &LogOptions) -> Result<LogStream, RuntimeError> {
        let text = self.with(id, |c| c.script.log.clone())?;
        Ok(futures::stream::once(async move { Ok(Bytes::from(text)) }).boxed())
    }

    async fn exec(
        &self,
        id: &ContainerId,
        _command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        let fails = self.with(id, |c| c.script.exec_fails)?;
        Ok(ExecResult { exit_code: i32::from(fails), ..Default::default() })
    }
}
