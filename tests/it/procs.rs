//! Cleanup for tests that run real processes: whatever a test leaves running (for example when
//! it fails half-way, since a stopped agent leaves containers for the next one to adopt) is
//! killed when the guard drops.

use std::path::{Path, PathBuf};

/// Kills every container process recorded under a process runtime's state directory, then
/// removes the directory.
pub struct ProcessGuard(pub PathBuf);

impl ProcessGuard {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("orch-tests-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ProcessGuard(dir)
    }
}

/// Every process runtime state directory under `dir` (each holds `containers/<id>/record.json`).
fn state_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "containers") {
            out.push(dir.to_owned());
        } else {
            state_dirs(&path, out);
        }
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let mut found = Vec::new();
        state_dirs(&self.0, &mut found);
        for dir in found {
            orch_node::runtime::kill_recorded_containers(&dir);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tests whose processes and proxies bind the same loopback addresses (pod IPs from the first
/// pod range, the first ClusterIPs, node ports on 127.1.7.x) take turns.
pub async fn network_turn() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}
