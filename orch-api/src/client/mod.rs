//! The HTTP client: orch-core's object-store contract over the API server's REST paths.

mod config;
mod object_store;
mod transport;
mod watch;

pub use config::ClientConfig;
pub use transport::ClientError;

use std::sync::Arc;

use axum::http::Method;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use http_body_util::BodyExt;
use orch_core::StoreError;

use crate::path::ResourcePath;
use crate::query::Query;

/// The API server's object store, over HTTP: an [`ObjectStore`](orch_core::store::ObjectStore)
/// like the in-process `Registry`, so the scheduler, controllers and node agents run in another
/// process unchanged. Cloning is cheap (connections are pooled and shared).
///
/// Requests answered 429 or 503, or refused at connect, are retried with backoff. A watch whose
/// connection drops resumes from the last resourceVersion it delivered; when that revision has
/// been compacted meanwhile it ends with `Error(Gone)`, on which a reflector relists.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use orch_api::client::{ClientConfig, HttpClient};
/// use orch_core::{Api, kinds::Pod};
/// let client = HttpClient::new(ClientConfig::new("https://127.0.0.1:6443").token("s3cret"))?;
/// let pods: Api<Pod> = Api::namespaced(Arc::new(client), "default");
/// for pod in pods.list(&Default::default()).await?.items {
///     println!("{}", pod.metadata.name.unwrap_or_default());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    transport: Arc<transport::Transport>,
}

impl HttpClient {
    /// A client for the server `config` names. Nothing is sent until the first call.
    ///
    /// # Errors
    /// A malformed URL or CA certificate.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(HttpClient { transport: Arc::new(transport::Transport::new(config)?) })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.transport.config
    }

    /// The server's `/version` document.
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached, or the error it answers.
    pub async fn version(&self) -> Result<serde_json::Value, StoreError> {
        let (_, body) = self.transport.send(Method::GET, "/version", None).await?;
        serde_json::from_slice(&body).map_err(|e| StoreError::internal(format!("decoding /version: {e}")))
    }
}

#[async_trait::async_trait]
impl crate::logs::PodLogs for HttpClient {
    async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        params: &crate::logs::LogParams,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let path = ResourcePath::object(
            &<orch_core::kinds::Pod as orch_core::Resource>::resource_type(),
            Some(namespace),
            pod,
        )
        .subresource("log");
        let query = Query {
            container: params.container.clone(),
            follow: params.follow,
            tail_lines: params.tail_lines,
            previous: params.previous,
            ..Query::default()
        };
        let url = format!("{path}?{}", query.encode());
        let resp = self.transport.send_streaming(Method::GET, &url, None).await?;
        let stream = resp
            .into_body()
            .into_data_stream()
            .map(|chunk| chunk.map_err(|e| StoreError::Unavailable { message: format!("log stream broke: {e}") }));
        Ok(stream.boxed())
    }
}

impl ClientConfig {
    /// The configuration a kubeconfig context resolves to (server, token, CA, TLS verification).
    pub fn from_context(ctx: &crate::cli::ResolvedContext) -> Self {
        let mut cfg = ClientConfig::new(ctx.server.clone());
        cfg.token = ctx.token.clone();
        cfg.ca_pem = ctx.ca_pem.clone();
        cfg.insecure_skip_tls_verify = ctx.insecure_skip_tls_verify;
        cfg
    }
}
