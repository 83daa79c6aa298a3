//! Starting a real server on loopback for a test, and clients for it.

use std::sync::Arc;

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, RunningServer, ServerConfig, ServerTls};
use orch_core::store::ObjectStore;
use orch_store::Registry;

/// A server over a fresh in-memory registry.
pub struct TestServer {
    pub running: RunningServer,
    pub registry: Registry,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> Self {
        let registry = Registry::in_memory().await.expect("registry");
        Self::over(registry, config, None).await
    }

    pub async fn over(registry: Registry, config: ServerConfig, tls: Option<ServerTls>) -> Self {
        let server = ApiServer::new(registry.clone(), config).expect("server");
        let running = server.bind("127.0.0.1:0".parse().unwrap(), tls).await.expect("bind loopback");
        TestServer { running, registry }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// A client with few retries, so failures show quickly.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(self.url()).retries(2)
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.client_config()).expect("client")
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(self.client())
    }

    pub fn client_with_token(&self, token: &str) -> Arc<dyn ObjectStore> {
        Arc::new(HttpClient::new(self.client_config().token(token)).expect("client"))
    }
}
