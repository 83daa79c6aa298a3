//! `ProcessConfig`: where a process runtime keeps its state and how it treats logs and limits.

use std::path::PathBuf;
use std::time::Duration;

/// Configuration of a [`ProcessRuntime`](super::ProcessRuntime).
#[derive(Clone, Debug)]
pub struct ProcessConfig {
    /// Where container records and logs live.
    pub state_dir: PathBuf,
    /// Rotate a container's log once it is larger than this.
    pub log_max_bytes: u64,
    /// Rotated files kept (`container.log.1` … `.N`).
    pub log_max_files: usize,
    /// How often logs are checked for rotation and adopted processes for exit.
    pub poll_interval: Duration,
    /// The cgroup v2 directory under which containers get their groups.
    pub cgroup_root: PathBuf,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            state_dir: std::env::temp_dir().join("orch-node"),
            log_max_bytes: 10 * 1024 * 1024,
            log_max_files: 2,
            poll_interval: Duration::from_millis(500),
            cgroup_root: PathBuf::from("/sys/fs/cgroup/orch-node"),
        }
    }
}

impl ProcessConfig {
    /// Sets the state directory.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = dir.into();
        self
    }

    /// Sets the log size that triggers rotation.
    pub fn log_max_bytes(mut self, bytes: u64) -> Self {
        self.log_max_bytes = bytes;
        self
    }

    /// Sets the poll interval.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Sets the cgroup v2 directory for container groups.
    pub fn cgroup_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cgroup_root = dir.into();
        self
    }
}
