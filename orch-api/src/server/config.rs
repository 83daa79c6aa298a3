//! `ServerConfig`: what the API server enforces and where it logs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::auth::{Authenticator, Authorizer};

/// Kubernetes' limit on a request body: 3 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// kube-apiserver's `ReadHeaderTimeout`: 32 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);

/// kube-apiserver's `--request-timeout`: 60 s, here the time a request body may take to arrive.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Go's (and so Kubernetes' clients') TLS handshake timeout: 10 s.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections the server keeps by default; keep it well under the process's open-file limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Concurrent watches the server serves by default (each holds one connection).
pub const DEFAULT_MAX_WATCHES: usize = 8_000;

/// Encoded bytes queued for one watch before it counts as a slow consumer: 16 MiB, ten of the
/// largest objects the store accepts.
pub const DEFAULT_WATCH_QUEUE_BYTES: usize = 16 << 20;

/// How long a watch's full queue may wait for its client to read before the watch is ended.
pub const DEFAULT_WATCH_SLOW_TIMEOUT: Duration = Duration::from_secs(5);

/// Configuration of an [`ApiServer`](super::ApiServer), built by value.
///
/// Authentication is off by default, which the server allows only on a loopback address (and
/// says so when it starts); turn it on with [`ServerConfig::auth`].
///
/// ```
/// use orch_api::server::ServerConfig;
/// use std::time::Duration;
/// let cfg = ServerConfig::default()
///     .max_body_bytes(1 << 20)
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(2_000)
///     .max_watches(500);
/// assert_eq!(cfg.max_body_bytes, 1 << 20);
/// assert_eq!((cfg.max_connections, cfg.max_watches), (2_000, 500));
/// assert_eq!(cfg.tls_handshake_timeout, Duration::from_secs(10));
/// assert_eq!(cfg.body_read_timeout, Duration::from_secs(60));
/// assert!(cfg.authenticator.is_none());
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    /// Request bodies larger than this are refused with 413 before they are read.
    pub max_body_bytes: usize,
    /// Who is calling; `None` turns authentication (and authorization) off.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// What a caller may do; used when an authenticator is set. `None` with an authenticator
    /// allows only the built-in rules (admins in `system:masters`, node identities).
    pub authorizer: Option<Arc<dyn Authorizer>>,
    /// Where the audit log goes: a line per mutating request. `None` keeps no audit log.
    pub audit_log: Option<PathBuf>,
    /// The `gitVersion` `/version` reports.
    pub version: String,
    /// How long a client may take to send a request's headers (against slowloris). The same
    /// timer runs while a keep-alive connection waits for its next request, so it is also how
    /// long an idle connection is kept. Default [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive once its headers have (against slow-body
    /// attacks, which keep a connection busy and so safe from eviction); a late body is refused
    /// with 400. Default [`DEFAULT_BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
    /// How long a TLS client may take to finish its handshake. Default
    /// [`DEFAULT_TLS_HANDSHAKE_TIMEOUT`].
    pub tls_handshake_timeout: Duration,
    /// Open connections at most. At the limit a new connection takes the place of the
    /// connection with no request in flight that was active least recently (idle and slowloris
    /// attackers before a client between two requests); when every open connection has a
    /// request in flight (watches included), the new one is closed at once. Default
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Concurrent watches at most; over it a watch request is refused with 429 and
    /// `Retry-After: 1`, as kube-apiserver's max-requests-inflight does. Default
    /// [`DEFAULT_MAX_WATCHES`].
    pub max_watches: usize,
    /// Encoded event bytes queued for one watch whose client does not read. Default
    /// [`DEFAULT_WATCH_QUEUE_BYTES`]; a single larger event is still sent when the queue is empty.
    pub watch_queue_bytes: usize,
    /// How long a watch with a full queue waits for its client to read before the server ends the
    /// watch and closes its connection (Kubernetes closes a slow consumer's watch; the client
    /// resumes from the last resourceVersion it saw). Default [`DEFAULT_WATCH_SLOW_TIMEOUT`].
    pub watch_slow_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            authenticator: None,
            authorizer: None,
            audit_log: None,
            version: concat!("v", env!("CARGO_PKG_VERSION")).to_string(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_watches: DEFAULT_MAX_WATCHES,
            watch_queue_bytes: DEFAULT_WATCH_QUEUE_BYTES,
            watch_slow_timeout: DEFAULT_WATCH_SLOW_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("auth", &self.authenticator.is_some())
            .field("audit_log", &self.audit_log)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_watches", &self.max_watches)
            .field("watch_queue_bytes", &self.watch_queue_bytes)
            .field("watch_slow_timeout", &self.watch_slow_timeout)
            .finish()
    }
}

impl ServerConfig {
    /// Sets the request body limit.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Turns authentication and authorization on.
    pub fn auth(mut self, authenticator: Arc<dyn Authenticator>, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authenticator = Some(authenticator);
        self.authorizer = Some(authorizer);
        self
    }

    /// Appends an audit line per mutating request to this file.
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_log = Some(path.into());
        self
    }

    /// Sets how long a client may take to send a request's headers (and how long an idle
    /// keep-alive connection is kept).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets how long a request body may take to arrive.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets how long a TLS handshake may take.
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = timeout;
        self
    }

    /// Sets the open-connection limit (at least 1).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Sets the concurrent-watch limit.
    pub fn max_watches(mut self, watches: usize) -> Self {
        self.max_watches = watches;
        self
    }

    /// Sets the bytes queued per watch before its client counts as slow (at least 1).
    pub fn watch_queue_bytes(mut self, bytes: usize) -> Self {
        self.watch_queue_bytes = bytes.max(1);
        self
    }

    /// Sets how long a slow watch's full queue waits before the watch is ended.
    pub fn watch_slow_timeout(mut self, timeout: Duration) -> Self {
        self.watch_slow_timeout = timeout;
        self
    }
}
