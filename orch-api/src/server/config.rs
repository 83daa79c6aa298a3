//! `ServerConfig`: what the API server enforces and where it logs.

use std::path::PathBuf;
use std::sync::Arc;

use super::auth::{Authenticator, Authorizer};

/// Kubernetes' limit on a request body: 3 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Configuration of an [`ApiServer`](super::ApiServer), built by value.
///
/// Authentication is off by default, which the server allows only on a loopback address (and
/// says so when it starts); turn it on with [`ServerConfig::auth`].
///
/// ```
/// use orch_api::server::ServerConfig;
/// let cfg = ServerConfig::default().max_body_bytes(1 << 20);
/// assert_eq!(cfg.max_body_bytes, 1 << 20);
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            authenticator: None,
            authorizer: None,
            audit_log: None,
            version: concat!("v", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("auth", &self.authenticator.is_some())
            .field("audit_log", &self.audit_log)
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
}
