//! `EtcdServer`: a real, throw-away etcd on 127.0.0.1 for tests and benchmarks.
//!
//! The server listens only on 127.0.0.1 (free ports picked at start), keeps its data in a fresh
//! temporary directory, and is stopped and its directory removed when the handle drops — or,
//! for the per-process [`EtcdServer::shared`] server that is never dropped, when the process
//! exits: etcd runs under a small bash guard that holds the read end of a pipe whose write end
//! only this process has, and kills etcd when it sees end-of-file (that also covers a test
//! binary that crashes or is killed). A server of its own can be SIGKILLed and restarted on the
//! same data directory and ports, for fault tests; [`EtcdCluster`](super::etcd_cluster::EtcdCluster)
//! is the three-member counterpart.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::etcd_process::EtcdProcess;

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
/// [`EtcdServer::shared`] and keep apart by [`unique_prefix`]; a test that compacts, that
/// counts revisions, or that kills the server ([`kill`](EtcdServer::kill) and
/// [`restart`](EtcdServer::restart)) needs a server of its own.
///
/// # Example
/// ```no_run
/// use orch_store::testkit::etcd_server::EtcdServer;
///
/// let mut etcd = EtcdServer::start().expect("etcd runs; scripts/setup installs it");
/// println!("etcd at {}", etcd.client_url());
/// etcd.kill().unwrap(); // SIGKILL: a crash; the data directory stays
/// etcd.restart().unwrap(); // same data, same ports
/// // dropped here: killed, data directory removed
/// ```
#[derive(Debug)]
pub struct EtcdServer {
    process: EtcdProcess,
    client_url: String,
    dir: PathBuf,
    startup_timeout: Duration,
}

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

    /// Kills etcd with SIGKILL (a crash: no clean shutdown) and waits until it is gone; its
    /// data directory stays for [`restart`](Self::restart). Does nothing if it is not running.
    ///
    /// # Errors
    /// None at present; the `Result` leaves room for platforms where killing can fail.
    pub fn kill(&mut self) -> Result<(), EtcdServerError> {
        self.process.kill()
    }

    /// Starts etcd again on the same data directory and ports after [`kill`](Self::kill) and
    /// waits until it is healthy (blocking). Does nothing but wait if it is running.
    ///
    /// # Errors
    /// `Io` if it cannot be spawned; `Exited` or `Unhealthy` if it does not come up.
    pub fn restart(&mut self) -> Result<(), EtcdServerError> {
        self.process.restart()?;
        self.process.wait_healthy(self.startup_timeout)
    }

    /// Whether etcd is running (started and not killed since).
    pub fn is_running(&self) -> bool {
        self.process.is_running()
    }

    fn try_start(binary: &Path, config: &EtcdServerConfig) -> Result<Self, EtcdServerError> {
        let io = |what: &'static str| move |e: std::io::Error| EtcdServerError::Io { what, message: e.to_string() };
        let (client_port, peer_port) = two_free_ports().map_err(io("picking free ports"))?;
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = fresh_dir(n);
        std::fs::create_dir_all(&dir).map_err(io("creating the data directory"))?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let interval = format!("{}ms", config.progress_notify_interval.as_millis().max(1));
        let data = dir.join("data").to_string_lossy().into_owned();
        let args: Vec<String> = [
            "--name",
            "orch-test",
            "--data-dir",
            &data,
            "--listen-client-urls",
            &client_url,
            "--advertise-client-urls",
            &client_url,
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
            "--initial-cluster",
            &format!("orch-test={peer_url}"),
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            &format!("orch-test-{n}"),
            // A lone member elects itself quickly; the minimum lease TTL stays at about 1 s.
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            "--experimental-watch-progress-notify-interval",
            &interval,
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let process = match EtcdProcess::spawn(binary, args, &dir, client_port) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut server = EtcdServer { process, client_url, dir, startup_timeout: config.startup_timeout };
        // On failure the server is dropped (stopped and removed) after its log was read.
        server.process.wait_healthy(config.startup_timeout)?;
        Ok(server)
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.process.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory name under the temporary directory, unique in this process and time.
pub(crate) fn fresh_dir(n: u64) -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("orch-etcd-{}-{n}-{nanos}", std::process::id()))
}

/// The next number of a series unique in this process (directories, cluster tokens, prefixes).
pub(crate) fn next_unique() -> u64 {
    NEXT.fetch_add(1, Ordering::SeqCst)
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
