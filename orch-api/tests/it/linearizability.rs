//! Linearizability of the API server over HTTP: concurrent `HttpClient`s get, create, update,
//! update with a resourceVersion (compare-and-swap) and delete Leases, with injected client
//! timeouts, and the recorded history is checked against the register model.
//!
//! `ORCH_LIN_TRIALS` and `ORCH_LIN_OPS` raise the counts (see RELIABILITY.md).

use std::sync::Arc;
use std::time::Duration;

use orch_api::server::ServerConfig;
use orch_store::testkit::linearizability::{CheckConfig, ObjectModelStore, Workload, check, run_workload};

use crate::support::TestServer;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_server_over_http_is_linearizable_under_concurrent_clients_with_timeouts() {
    let trials: u64 = env_or("ORCH_LIN_TRIALS", 1);
    let (mut ops, mut writes, mut applied, mut timeouts, mut unknown) = (0, 0, 0, 0, 0);
    for seed in 0..trials {
        let server = TestServer::start(ServerConfig::default()).await;
        let store = Arc::new(ObjectModelStore::new(server.store(), "default"));
        let workload = Workload::default()
            .clients(6)
            .ops_per_client(env_or("ORCH_LIN_OPS", 60))
            .keys(4)
            .seed(seed)
            .timeouts(0.1, Duration::from_millis(5));
        let (history, stats) = run_workload(store, &workload).await;
        assert_eq!(stats.indefinite, 0, "calls failed without an injected fault");
        let report = check(&history.operations(), &CheckConfig::default());
        if let Some(v) = report.violations.first() {
            panic!("seed {seed}: the API server is not linearizable:\n{v}");
        }
        assert!(report.inconclusive.is_empty(), "seed {seed}: search gave up on {:?}", report.inconclusive);
        ops += report.operations;
        writes += report.writes;
        unknown += report.unknown;
        applied += stats.writes_applied;
        timeouts += stats.injected_timeouts;
        server.running.shutdown().await;
    }
    assert!(timeouts > 0, "no injected timeout fired, so unknown outcomes went untested");
    eprintln!(
        "{{\"lin\":\"api_server_http\",\"trials\":{trials},\"operations\":{ops},\"writes\":{writes},\
         \"writes_applied\":{applied},\"injected_timeouts\":{timeouts},\"unknown_outcomes\":{unknown},\"violations\":0}}"
    );
}
