//! The object-level contract suite of orch-store, run against the HTTP client and a live server:
//! "runs unchanged over HTTP" is tested, not assumed.

use std::sync::Arc;

use futures::future::BoxFuture;
use orch_api::server::ServerConfig;
use orch_core::store::ObjectStore;

use crate::support::TestServer;

/// Each check gets a server of its own, on loopback, and talks to it through the HTTP client.
async fn run(check: impl FnOnce(Arc<dyn ObjectStore>) -> BoxFuture<'static, ()>) {
    let server = TestServer::start(ServerConfig::default()).await;
    check(server.store()).await;
    server.running.shutdown().await;
}

orch_store::object_contract_tests!(run);
