//! Linearizability of the API server over HTTP: concurrent `HttpClient`s get, create, update,
//! update with a resourceVersion (compare-and-swap) and delete Leases, with injected client
//! timeouts, and the recorded history is checked against the register model.
//!
//! `ORCH_LIN_TRIALS` and `ORCH_LIN_OPS` raise the counts (see RELIABILITY.md).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_api::server::ServerConfig;
use orch_store::testkit::linearizability::{ModelStore, ObjectModelStore, Workload, check_trials};

use crate::support::TestServer;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_server_over_http_is_linearizable_under_concurrent_clients_with_timeouts() {
    let servers = Arc::new(Mutex::new(Vec::new()));
    let open = |_seed| {
        let servers = servers.clone();
        async move {
            let server = TestServer::start(ServerConfig::default()).await;
            let store = Arc::new(ObjectModelStore::new(server.store(), "default")) as Arc<dyn ModelStore>;
            servers.lock().expect("servers").push(server);
            store
        }
    };
    let workload = |seed| {
        Workload::default()
            .clients(6)
            .ops_per_client(env_or("ORCH_LIN_OPS", 60))
            .keys(4)
            .seed(seed)
            .timeouts(0.1, Duration::from_millis(5))
    };
    let figures = check_trials("api_server_http", env_or("ORCH_LIN_TRIALS", 1), workload, open).await;
    eprintln!("{}", figures.to_json("api_server_http"));
    let servers = std::mem::take(&mut *servers.lock().expect("servers"));
    for server in servers {
        server.running.shutdown().await;
    }
}
