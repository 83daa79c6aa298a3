//! Building and running process commands: program lookup, environment, exit decoding, exec probes.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use orch_core::Timestamp;
use tokio::io::AsyncReadExt;

use super::signals;
use crate::runtime::{ExecResult, ExitInfo, RuntimeError};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `PATH` a container sees: its own, else the agent's, else a default.
fn path_of(env: &[(String, String)]) -> String {
    env.iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| DEFAULT_PATH.to_owned())
}

/// Finds a program: a path containing `/` must be an executable file; a bare name is looked
/// up in `PATH` (the container's, else the agent's).
pub(crate) fn resolve_program(program: &str, env: Option<&[(String, String)]>) -> Result<PathBuf, RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if executable(&p) {
            Ok(p)
        } else {
            Err(RuntimeError::ImageNotFound { image: program.into(), reason: "not an executable file".into() })
        };
    }
    let path = path_of(env.unwrap_or(&[]));
    path.split(':').map(|d| Path::new(d).join(program)).find(|p| executable(p)).ok_or_else(|| {
        RuntimeError::ImageNotFound {
            image: program.into(),
            reason: format!("no executable of that name in PATH={path}"),
        }
    })
}

/// A command for `argv` with exactly the given environment, in its own process group.
pub(crate) fn command(
    argv: &[String],
    env: &[(String, String)],
    working_dir: Option<&str>,
) -> Result<tokio::process::Command, RuntimeError> {
    let (program, args) = argv.split_first().ok_or_else(|| RuntimeError::InvalidConfig("empty command".into()))?;
    let resolved = resolve_program(program, Some(env))?;
    let mut cmd = tokio::process::Command::new(resolved);
    cmd.args(args).env_clear().env("PATH", path_of(env));
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(dir) = working_dir.filter(|d| !d.is_empty()) {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null()).process_group(0).kill_on_drop(false);
    Ok(cmd)
}

/// How a process ended, as a container exit (a signal `s` is exit code `128 + s`).
pub(crate) fn exit_info(status: ExitStatus) -> ExitInfo {
    let signal = status.signal();
    let exit_code = status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0));
    ExitInfo { exit_code, signal, reason: None, finished_at: Some(Timestamp::now()) }
}

/// Runs a command to completion (its whole process group is killed after `timeout`).
pub(crate) async fn run(
    argv: &[String],
    env: &[(String, String)],
    working_dir: Option<&str>,
    timeout: Duration,
) -> Result<ExecResult, RuntimeError> {
    let mut child = command(argv, env, working_dir)?
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RuntimeError::Backend(format!("exec {:?}: {e}", argv.first())))?;
    let pid = child.id().map(|p| p as i32);
    let leader_start = pid.and_then(super::record::process_start_ticks);
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let collect = async {
        let (mut buf, mut errbuf) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut buf).await;
            }
        };
        let read_err = async {
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_end(&mut errbuf).await;
            }
        };
        tokio::join!(read_out, read_err);
        buf.extend_from_slice(&errbuf);
        let status = child.wait().await;
        (buf, status)
    };
    let result = tokio::time::timeout(timeout, collect).await;
    if let Some(pid) = pid {
        signals::kill_group(pid, leader_start);
    }
    match result {
        Ok((output, status)) => Ok(ExecResult { exit_code: exit_info(status?).exit_code, output, timed_out: false }),
        Err(_) => Ok(ExecResult { exit_code: -1, output: Vec::new(), timed_out: true }),
    }
}
