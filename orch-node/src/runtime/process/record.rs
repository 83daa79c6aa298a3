//! The on-disk record of one process container, so a restarted agent finds what it started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use orch_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::runtime::{ContainerConfig, ContainerId, ExitInfo, PodRef};

/// How a container ended, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredExit {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: Option<String>,
    pub finished_at: Option<Timestamp>,
}

impl From<&StoredExit> for ExitInfo {
    fn from(e: &StoredExit) -> Self {
        ExitInfo { exit_code: e.exit_code, signal: e.signal, reason: e.reason.clone(), finished_at: e.finished_at }
    }
}

impl From<&ExitInfo> for StoredExit {
    fn from(e: &ExitInfo) -> Self {
        StoredExit { exit_code: e.exit_code, signal: e.signal, reason: e.reason.clone(), finished_at: e.finished_at }
    }
}

/// Everything known about one container: its config, its process and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ContainerRecord {
    pub id: String,
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub node_name: String,
    pub name: String,
    pub attempt: u32,
    pub image: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
    pub started_at: Option<Timestamp>,
    /// Process id (also the process group id: each container leads its own group).
    pub pid: Option<i32>,
    /// Start time of the process in clock ticks since boot (guards against pid reuse).
    pub pid_start_ticks: Option<u64>,
    pub exit: Option<StoredExit>,
}

impl ContainerRecord {
    /// A record for a container about to be created.
    pub fn new(id: &ContainerId, config: &ContainerConfig, argv: Vec<String>) -> Self {
        ContainerRecord {
            id: id.0.clone(),
            namespace: config.pod.namespace.clone(),
            pod: config.pod.name.clone(),
            pod_uid: config.pod.uid.clone(),
            node_name: config.node_name.clone(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            argv,
            env: config.env.clone(),
            working_dir: config.working_dir.clone(),
            labels: config.all_labels(),
            memory_bytes: config.limits.memory_bytes,
            cpu_millis: config.limits.cpu_millis,
            ..Default::default()
        }
    }

    /// The pod this container belongs to.
    pub fn pod_ref(&self) -> PodRef {
        PodRef { namespace: self.namespace.clone(), name: self.pod.clone(), uid: self.pod_uid.clone() }
    }
}

/// Where each container's files live: `<root>/containers/<id>/{record.json,container.log}`.
#[derive(Clone, Debug)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: PathBuf) -> Self {
        StateDir { root }
    }

    fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("container.log")
    }

    /// Writes a record atomically (write to a temporary file, then rename).
    pub fn save(&self, record: &ContainerRecord) -> std::io::Result<()> {
        let dir = self.dir(&record.id);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join("record.json.tmp");
        let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, dir.join("record.json"))
    }

    pub fn load(&self, id: &str) -> std::io::Result<ContainerRecord> {
        let bytes = std::fs::read(self.dir(id).join("record.json"))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    /// Every record on disk; unreadable ones are skipped with a warning.
    pub fn load_all(&self) -> Vec<ContainerRecord> {
        let Ok(entries) = std::fs::read_dir(self.containers()) else { return Vec::new() };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            match self.load(&id) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(container = %id, error = %e, "skipping unreadable container record"),
            }
        }
        out
    }

    pub fn delete(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.dir(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The start time (field 22 of `/proc/<pid>/stat`) of a live, non-zombie process.
pub(crate) fn process_start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_start_time() {
        assert!(process_start_ticks(std::process::id() as i32).is_some());
    }

    #[test]
    fn record_round_trips_through_the_state_dir() {
        let root = std::env::temp_dir().join(format!("orch-node-record-{}", std::process::id()));
        let dir = StateDir::new(root.clone());
        let cfg = ContainerConfig { name: "c".into(), image: "sleep".into(), ..Default::default() };
        let rec = ContainerRecord::new(&ContainerId("abc".into()), &cfg, vec!["sleep".into(), "1".into()]);
        dir.save(&rec).unwrap();
        assert_eq!(dir.load_all(), vec![rec]);
        dir.delete("abc").unwrap();
        assert!(dir.load_all().is_empty());
        let _ = std::fs::remove_dir_all(root);
    }
}
