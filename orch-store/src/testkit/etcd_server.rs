//! `EtcdServer`: a real, throw-away etcd on 127.0.0.1 for tests and benchmarks.
//!
//! The server listens only on 127.0.0.1 (free ports picked at start), keeps its data in a fresh
//! temporary directory, and is stopped and its directory removed when the handle drops — or,
//! for the per-process [`EtcdServer::shared`] server that is never dropped, when the process
//! exits: etcd runs under a small bash guard that holds the read end of a pipe whose write end
//! only this process has, and kills etcd when it sees end-of-file (that also covers a test
//! binary that crashes or is killed).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a test etcd could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdServerError {
    /// No `etcd` binary was found.
    #[error("etcd is not installed (looked for {searched}); run scripts/setup, which installs Debian's etcd-server")]
    NotInstalled {
        /// Where it was looked for.
        searched: String,
    },
    /// A file or process operation failed.
    #[error("test etcd: {what}: {message}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        message: String,
    },
    /// etcd exited during startup.
    #[error("test etcd exited during startup; last log lines:\n{log_tail}")]
    Exited {
        /// The end of etcd's log.
        log_tail: String,
    },
    /// etcd did not report healthy in time.
    #[error("test etcd not healthy after {waited:?}; last log lines:\n{log_tail}")]
    Unhealthy {
        /// How long we waited.
        waited: Duration,
        /// The end of etcd's log.
        log_tail: String,
    },
}

/// How to start a test etcd: a plain struct with `Default` and by-value builders.
///
/// ```
/// use std::time::Duration;
/// use orch_store::testkit::etcd_server::EtcdServerConfig;
///
/// let config = EtcdServerConfig::default().with_progress_notify_interval(Duration::from_millis(200));
/// assert_eq!(config.progress_notify_interval, Duration::from_millis(200));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdServerConfig {
    /// The etcd binary (`None`: `$ORCH_ETCD_BIN`, then `etcd` on `PATH`, then `/usr/bin/etcd`).
    pub binary: Option<PathBuf>,
    /// How long to wait for the server to become healthy (default 30 s).
    pub startup_timeout: Duration,
    /// How often etcd sends progress notifications to idle watches that asked for them
    /// (default 1 s; etcd's own default is 10 min).
    pub progress_notify_interval: Duration,
}

impl Default for EtcdServerConfig {
    fn default() -> Self {
        EtcdServerConfig {
            binary: None,
            startup_timeout: Duration::from_secs(30),
            progress_notify_interval: Duration::from_secs(1),
        }
    }
}

impl EtcdServerConfig {
    /// Uses this etcd binary.
    pub fn with_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }
    /// Sets how long startup may take.
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }
    /// Sets the progress notification interval.
    pub fn with_progress_notify_interval(mut self, interval: Duration) -> Self {
        self.progress_notify_interval = interval;
        self
    }
}

/// A running single-member etcd on 127.0.0.1, stopped (and its data removed) on drop.
///
/// Starting one takes about a second, so tests in one binary usually share
/// [`EtcdServer::shared`] and keep apart by [`unique_prefix`]; a test that compacts, or that
/// counts revisions, needs a server of its own (revisions and compaction are global).
///
/// # Example
/// ```no_run
/// use orch_store::testkit::etcd_server::EtcdServer;
///
/// let etcd = EtcdServer::start().expect("etcd runs; scripts/setup installs it");
/// println!("etcd at {}", etcd.client_url());
/// // dropped here: killed, data directory removed
/// ```
#[derive(Debug)]
pub struct EtcdServer {
    guard: Child,
    /// Closing it (drop) tells the guard to stop etcd.
    lifeline: Option<ChildStdin>,
    client_url: String,
    dir: PathBuf,
}

/// Stops etcd when its standard input (our lifeline) reaches end-of-file, or exits when etcd
/// does. Arguments: the working directory, then the etcd command line.
const GUARD: &str = r#"
dir=$1; shift
"$@" </dev/null >"$dir/etcd.log" 2>&1 &
pid=$!
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

static NEXT: AtomicU64 = AtomicU64::new(0);

impl EtcdServer {
    /// Starts a fresh server with the default configuration and waits until it is healthy.
    ///
    /// # Errors
    /// `NotInstalled` without an etcd binary; `Exited` or `Unhealthy` if it does not come up.
    pub fn start() -> Result<Self, EtcdServerError> {
        Self::start_with(&EtcdServerConfig::default())
    }

    /// Starts a fresh server (blocking, usually about a second) and waits until it is healthy.
    /// From async code, call it from `tokio::task::spawn_blocking` if the runtime must not stall.
    ///
    /// # Errors
    /// As [`EtcdServer::start`].
    pub fn start_with(config: &EtcdServerConfig) -> Result<Self, EtcdServerError> {
        let binary = match &config.binary {
            Some(path) => path.clone(),
            None => etcd_binary()?,
        };
        // The ports are free when picked but not reserved: on a clash etcd exits; try again.
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(&binary, config) {
                Err(EtcdServerError::Exited { log_tail }) if log_tail.contains("address already in use") => {
                    last = Some(EtcdServerError::Exited { log_tail });
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(EtcdServerError::Io { what: "starting etcd", message: "no attempt made".into() }))
    }

    /// The server every caller in this process shares, started on first use. It is stopped when
    /// the process exits.
    ///
    /// # Errors
    /// As [`EtcdServer::start`] (the first failure is returned to every caller).
    ///
    /// # Example
    /// ```no_run
    /// use orch_store::testkit::etcd_server::{EtcdServer, unique_prefix};
    ///
    /// let etcd = EtcdServer::shared().expect("etcd runs; scripts/setup installs it");
    /// let prefix = unique_prefix("my_test"); // keeps this test's keys apart
    /// println!("{} under {prefix}", etcd.client_url());
    /// ```
    pub fn shared() -> Result<&'static EtcdServer, EtcdServerError> {
        static SHARED: OnceLock<Result<EtcdServer, EtcdServerError>> = OnceLock::new();
        SHARED.get_or_init(EtcdServer::start).as_ref().map_err(Clone::clone)
    }

    /// The client URL, `http://127.0.0.1:PORT`.
    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    /// The client URL as an endpoint list, as `EtcdKv::connect` takes it.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.client_url.clone()]
    }

    /// The directory holding the server's data and log (removed when it stops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn try_start(binary: &Path, config: &EtcdServerConfig) -> Result<Self, EtcdServerError> {
        let io = |what: &'static str| move |e: std::io::Error| EtcdServerError::Io { what, message: e.to_string() };
        let (client_port, peer_port) = two_free_ports().map_err(io("picking free ports"))?;
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("orch-etcd-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io("creating the data directory"))?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let interval = format!("{}ms", config.progress_notify_interval.as_millis().max(1));
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(GUARD).arg("orch-etcd-guard").arg(&dir).arg(binary);
        cmd.arg("--name").arg("orch-test").arg("--data-dir").arg(dir.join("data"));
        cmd.arg("--listen-client-urls").arg(&client_url).arg("--advertise-client-urls").arg(&client_url);
        cmd.arg("--listen-peer-urls").arg(&peer_url).arg("--initial-advertise-peer-urls").arg(&peer_url);
        cmd.arg("--initial-cluster").arg(format!("orch-test={peer_url}"));
        cmd.arg("--initial-cluster-state").arg("new").arg("--initial-cluster-token").arg(format!("orch-test-{n}"));
        // A lone member elects itself quickly; the minimum lease TTL stays at about 1 s.
        cmd.arg("--heartbeat-interval").arg("50").arg("--election-timeout").arg("500");
        cmd.arg("--experimental-watch-progress-notify-interval").arg(interval);
        cmd.arg("--logger").arg("zap").arg("--log-outputs").arg("stderr");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(key);
            }
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut guard = cmd.spawn().map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            EtcdServerError::Io { what: "spawning bash to run etcd", message: e.to_string() }
        })?;
        let lifeline = guard.stdin.take();
        let server = EtcdServer { guard, lifeline, client_url, dir };
        server.wait_healthy(client_port, config.startup_timeout)
    }

    /// Polls `/health` until it answers healthy, etcd exits, or `limit` passes. On failure the
    /// server is dropped (stopped and removed) after its log is read.
    fn wait_healthy(mut self, port: u16, limit: Duration) -> Result<Self, EtcdServerError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = self.guard.try_wait() {
                return Err(EtcdServerError::Exited { log_tail: self.log_tail() });
            }
            if healthy(port) {
                return Ok(self);
            }
            if started.elapsed() > limit {
                return Err(EtcdServerError::Unhealthy { waited: limit, log_tail: self.log_tail() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // End-of-file on the guard's stdin: it stops etcd (SIGTERM, then SIGKILL after 5 s).
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.guard.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = self.guard.kill();
        let _ = self.guard.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A key prefix no other caller in this process gets, e.g. `/orch-test/4242-7-my_test/`, so
/// tests sharing one etcd never see each other's keys.
///
/// ```
/// use orch_store::testkit::etcd_server::unique_prefix;
/// assert_ne!(unique_prefix("t"), unique_prefix("t"));
/// assert!(unique_prefix("t").ends_with("-t/"));
/// ```
pub fn unique_prefix(name: &str) -> String {
    format!("/orch-test/{}-{}-{name}/", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Finds the etcd binary: `$ORCH_ETCD_BIN`, `etcd` on `PATH`, or `/usr/bin/etcd`.
///
/// # Errors
/// `NotInstalled` if none exists (`scripts/setup` installs Debian's `etcd-server`).
///
/// ```no_run
/// let etcd = orch_store::testkit::etcd_server::etcd_binary().expect("run scripts/setup");
/// println!("using {}", etcd.display());
/// ```
pub fn etcd_binary() -> Result<PathBuf, EtcdServerError> {
    if let Some(path) = std::env::var_os("ORCH_ETCD_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EtcdServerError::NotInstalled { searched: format!("$ORCH_ETCD_BIN = {}", path.display()) })
        };
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("etcd")).collect())
        .unwrap_or_default();
    candidates.push(PathBuf::from("/usr/bin/etcd"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| EtcdServerError::NotInstalled { searched: "$ORCH_ETCD_BIN, etcd on PATH, /usr/bin/etcd".into() })
}

fn two_free_ports() -> std::io::Result<(u16, u16)> {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// Whether etcd's `/health` endpoint answers `"health":"true"`.
fn healthy(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    if conn.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = conn.read_to_string(&mut body);
    body.starts_with("HTTP/1.1 200") && body.contains("\"health\":\"true\"")
}
