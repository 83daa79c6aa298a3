//! cgroup v2 memory and CPU limits for process containers, where the machine allows them.

use std::path::{Path, PathBuf};

use crate::runtime::ContainerLimits;

/// A writable cgroup v2 subtree in which each container gets its own group.
#[derive(Clone, Debug)]
pub(crate) struct Cgroups {
    root: PathBuf,
}

impl Cgroups {
    /// Checks that `root`'s parent is a cgroup v2 hierarchy we may write to and prepares
    /// `root` with the memory and cpu controllers enabled. The error says plainly why not.
    pub fn detect(root: &Path) -> Result<Self, String> {
        let parent = root.parent().ok_or_else(|| format!("{} has no parent cgroup", root.display()))?;
        let controllers = std::fs::read_to_string(parent.join("cgroup.controllers")).map_err(|e| {
            format!("{} is not a cgroup v2 hierarchy (cgroup v1 or hybrid host?): {e}", parent.display())
        })?;
        for needed in ["memory", "cpu"] {
            if !controllers.split_whitespace().any(|c| c == needed) {
                return Err(format!("the {needed} controller is not available in {}", parent.display()));
            }
        }
        // Best effort: enable the controllers for the children of the parent, then of root.
        let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +cpu");
        std::fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu")
            .map_err(|e| format!("cannot enable memory and cpu controllers in {}: {e}", root.display()))?;
        Ok(Cgroups { root: root.to_owned() })
    }

    /// Creates the container's group, writes its limits and moves `pid` into it.
    pub fn apply(&self, id: &str, pid: i32, limits: &ContainerLimits) -> std::io::Result<()> {
        let dir = self.root.join(id);
        std::fs::create_dir_all(&dir)?;
        if let Some(bytes) = limits.memory_bytes {
            std::fs::write(dir.join("memory.max"), bytes.to_string())?;
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        }
        if let Some(millis) = limits.cpu_millis {
            let period = 100_000u64;
            let quota = (millis * period / 1000).max(1000);
            std::fs::write(dir.join("cpu.max"), format!("{quota} {period}"))?;
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
    }

    /// Whether the kernel's OOM killer killed a process of the container's group.
    pub fn oom_killed(&self, id: &str) -> bool {
        std::fs::read_to_string(self.root.join(id).join("memory.events"))
            .is_ok_and(|events| events.lines().any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n.trim() != "0")))
    }

    /// Kills every process in the container's group, including any that left its process
    /// group or session (`cgroup.kill`, Linux 5.14+; a no-op where the group does not exist).
    pub fn kill_all(&self, id: &str) {
        let _ = std::fs::write(self.root.join(id).join("cgroup.kill"), "1");
    }

    /// Removes the container's group (it must be empty).
    pub fn remove(&self, id: &str) {
        let _ = std::fs::remove_dir(self.root.join(id));
    }
}
