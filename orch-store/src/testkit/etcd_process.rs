//! One etcd process under a bash guard: started, SIGKILLed and restarted on the same data
//! directory and ports, and stopped for good (its directory removed) on drop.
//!
//! The guard holds the read end of a pipe whose write end only this process has, and kills
//! etcd when it sees end-of-file — so etcd also dies when a test binary crashes or is killed.
//! On that end-of-file it also removes the member directory. It writes etcd's pid to `etcd.pid` so a test can SIGKILL etcd itself (a crash) while the
//! data directory stays for the restart.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::etcd_server::EtcdServerError;

/// Stops etcd when its standard input (our lifeline) reaches end-of-file, or exits when etcd
/// does. Arguments: the member directory (log, pid file), then the etcd command line.
const GUARD: &str = r#"
dir=$1; shift
"$@" </dev/null >>"$dir/etcd.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/etcd.pid"
while kill -0 "$pid" 2>/dev/null; do
    read -r -t 0.2 _line
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rm -rf "$dir"
        exit 0
    fi
done
wait "$pid"
exit 3
"#;

/// One etcd process (running or killed) with its command line, kept to restart it.
#[derive(Debug)]
pub(crate) struct EtcdProcess {
    /// The guard while etcd runs; `None` once killed.
    guard: Option<(Child, Option<ChildStdin>)>,
    binary: PathBuf,
    args: Vec<String>,
    /// Holds `etcd.log` and `etcd.pid` (the data directory lives wherever `args` say).
    dir: PathBuf,
    client_port: u16,
}

impl EtcdProcess {
    /// Spawns etcd (`binary args...`) under a guard; does not wait for it to be healthy.
    pub(crate) fn spawn(
        binary: &Path,
        args: Vec<String>,
        dir: &Path,
        client_port: u16,
    ) -> Result<Self, EtcdServerError> {
        let mut process =
            EtcdProcess { guard: None, binary: binary.to_owned(), args, dir: dir.to_owned(), client_port };
        process.start()?;
        Ok(process)
    }

    fn start(&mut self) -> Result<(), EtcdServerError> {
        let _ = std::fs::remove_file(self.dir.join("etcd.pid"));
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(GUARD).arg("orch-etcd-guard").arg(&self.dir).arg(&self.binary).args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(key);
            }
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| EtcdServerError::Io { what: "spawning bash to run etcd", message: e.to_string() })?;
        let lifeline = child.stdin.take();
        self.guard = Some((child, lifeline));
        Ok(())
    }

    /// Whether etcd was started and not killed since (it may still have exited by itself).
    pub(crate) fn is_running(&self) -> bool {
        self.guard.is_some()
    }

    /// The client port.
    pub(crate) fn client_port(&self) -> u16 {
        self.client_port
    }

    /// Polls `/health` until it answers healthy, etcd exits, or `limit` passes.
    pub(crate) fn wait_healthy(&mut self, limit: Duration) -> Result<(), EtcdServerError> {
        let started = Instant::now();
        loop {
            if self.exited() {
                return Err(EtcdServerError::Exited { log_tail: self.log_tail() });
            }
            if healthy(self.client_port) {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(EtcdServerError::Unhealthy { waited: limit, log_tail: self.log_tail() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until etcd accepts connections on its client port (a member of a cluster without
    /// quorum answers `/health` unhealthy, but it listens).
    pub(crate) fn wait_listening(&mut self, limit: Duration) -> Result<(), EtcdServerError> {
        let started = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.client_port));
        loop {
            if self.exited() {
                return Err(EtcdServerError::Exited { log_tail: self.log_tail() });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(EtcdServerError::Unhealthy { waited: limit, log_tail: self.log_tail() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn exited(&mut self) -> bool {
        match &mut self.guard {
            Some((child, _)) => matches!(child.try_wait(), Ok(Some(_)) | Err(_)),
            None => true,
        }
    }

    /// SIGKILLs etcd (a crash: no shutdown, the data directory stays) and waits until it is
    /// gone. Does nothing if it is not running.
    pub(crate) fn kill(&mut self) -> Result<(), EtcdServerError> {
        let Some((mut child, lifeline)) = self.guard.take() else { return Ok(()) };
        let pid = std::fs::read_to_string(self.dir.join("etcd.pid")).unwrap_or_default();
        let pid = pid.trim();
        if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
            let _ = Command::new("kill").arg("-9").arg(pid).stderr(Stdio::null()).status();
        }
        // The guard exits once etcd is gone; if it does not (no pid file yet), end it the
        // ordinary way.
        if !wait_exit(&mut child, Duration::from_secs(10)) {
            drop(lifeline);
            if !wait_exit(&mut child, Duration::from_secs(10)) {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
        Ok(())
    }

    /// Starts etcd again with the same command line (same data directory and ports), after a
    /// [`kill`](Self::kill). Does nothing if it is running.
    pub(crate) fn restart(&mut self) -> Result<(), EtcdServerError> {
        if self.guard.is_some() {
            return Ok(());
        }
        self.start()
    }

    /// The end of etcd's log.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops etcd (SIGTERM through the guard, SIGKILL after 5 s) and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some((mut child, lifeline)) = self.guard.take() {
            drop(lifeline);
            if !wait_exit(&mut child, Duration::from_secs(10)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits up to `limit` for `child` to exit.
fn wait_exit(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

/// One HTTP/1.1 exchange with etcd's client port (its `/health`, `/metrics` and JSON gateway):
/// the status line and body of the answer, or `None` if nobody answered.
pub(crate) fn http(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    if answer.is_empty() { None } else { Some(answer) }
}

/// Whether etcd's `/health` endpoint answers `"health":"true"`.
pub(crate) fn healthy(port: u16) -> bool {
    http(port, "GET", "/health", "").is_some_and(|a| a.starts_with("HTTP/1.1 200") && a.contains("\"health\":\"true\""))
}
