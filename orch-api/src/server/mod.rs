//! The API server: Kubernetes' REST conventions over an orch-store `Registry`.

mod audit;
pub mod auth;
mod body;
mod config;
mod connections;
mod discovery;
mod dispatch;
mod field_validation;
mod listener;
mod metrics;
mod objects;
mod openapi;
mod respond;
mod subresources;
mod tls;
mod watch;
mod watch_queue;

pub use audit::{AuditLog, AuditRecord};
pub use config::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_WATCHES, DEFAULT_TLS_HANDSHAKE_TIMEOUT, DEFAULT_WATCH_QUEUE_BYTES, DEFAULT_WATCH_SLOW_TIMEOUT,
    ServerConfig,
};
pub use field_validation::unknown_fields;
pub use listener::{RunningServer, ServeError};
pub use metrics::ApiMetrics;
pub use tls::{ServerTls, TlsError, TlsSource};
pub use watch::EventEncoder;

use std::sync::Arc;

use orch_core::store::ObjectStore;
use orch_store::Registry;

/// What every request handler shares.
pub(crate) struct ServerState {
    pub registry: Registry,
    pub store: Arc<dyn ObjectStore>,
    pub config: ServerConfig,
    pub metrics: ApiMetrics,
    pub encoder: Arc<EventEncoder>,
    pub audit: Option<AuditLog>,
    pub node_client: subresources::NodeClient,
    pub address: std::sync::OnceLock<String>,
    /// One permit per open watch, `config.max_watches` in all.
    pub watch_slots: Arc<tokio::sync::Semaphore>,
}

/// The API server over a [`Registry`]: paths `/api/v1/...` and `/apis/{group}/{version}/...` for
/// every registered kind, discovery, OpenAPI v3, watch streams, subresources, authentication,
/// authorization, audit and metrics.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use orch_api::server::{ApiServer, ServerConfig};
/// let registry = orch_store::Registry::in_memory().await?;
/// let server = ApiServer::new(registry, ServerConfig::default())?;
/// let running = server.bind("127.0.0.1:0".parse()?, None).await?;
/// println!("serving on {}", running.url());
/// running.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiServer {
    state: Arc<ServerState>,
}

impl ApiServer {
    /// A server over `registry`.
    ///
    /// # Errors
    /// The audit log file cannot be opened.
    pub fn new(registry: Registry, config: ServerConfig) -> std::io::Result<Self> {
        let audit = config.audit_log.as_deref().map(AuditLog::open).transpose()?;
        let store: Arc<dyn ObjectStore> = Arc::new(registry.clone());
        Ok(ApiServer {
            state: Arc::new(ServerState {
                registry,
                store,
                metrics: ApiMetrics::default(),
                encoder: Arc::new(EventEncoder::default()),
                audit,
                node_client: subresources::NodeClient::new(),
                address: std::sync::OnceLock::new(),
                watch_slots: Arc::new(tokio::sync::Semaphore::new(
                    config.max_watches.min(tokio::sync::Semaphore::MAX_PERMITS),
                )),
                config,
            }),
        })
    }

    /// The axum router serving every path, for embedding in a larger application.
    pub fn router(&self) -> axum::Router {
        axum::Router::new().fallback(dispatch::handle).with_state(self.state.clone())
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &ApiMetrics {
        &self.state.metrics
    }
}
