//! The cluster under failures: a node dies, the API server restarts under remote components,
//! the control plane restarts on the durable store.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, ServerConfig};
use orch_controllers::controllers::node_lifecycle::NodeLifecycleConfig;
use orch_core::kinds::{Deployment, Endpoints, Pod};
use orch_core::store::{Api, ListParams};
use orch_core::{ObjectStore, Patch};
use orch_store::Registry;
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

fn deployment(replicas: i32) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{"name": "c", "image": "app", "ports": [{"containerPort": 80}]}]}}}
    }))
    .unwrap()
}

/// A registry over the durable store in `dir` (and the store, to close it).
async fn open_durable(dir: &std::path::Path) -> (Arc<orch_store::durable::DurableKv>, Registry) {
    let kv = Arc::new(orch_store::durable::DurableKv::open_default(dir).unwrap());
    let clock = Arc::new(orch_core::runtime::SystemClock);
    let registry = Registry::builder(kv.clone(), clock, Arc::new(orch_core::runtime::TokioSpawn::current()))
        .build()
        .await
        .unwrap();
    (kv, registry)
}

/// Running, ready pods of the app: name → node.
async fn running(store: &Arc<dyn ObjectStore>) -> Vec<(String, String)> {
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let list = pods.list(&ListParams::default().labels("app=app")).await.map(|l| l.items).unwrap_or_default();
    list.into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && p.status.phase.as_deref() == Some("Running"))
        .map(|p| (p.metadata.name.unwrap_or_default(), p.spec.node_name.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_of_a_dead_node_come_back_elsewhere_and_leave_the_endpoints() {
    let lifecycle = NodeLifecycleConfig {
        grace_period: Duration::from_secs(2),
        default_toleration: Duration::from_secs(1),
        ..Default::default()
    };
    let mut cp = ControlPlane::start(ControlPlaneConfig::default().node_lifecycle(lifecycle)).await.unwrap();
    let store = cp.store();
    cp.add_fake_nodes(3).await.unwrap();
    let svc: orch_core::kinds::Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": "default"},
        "spec": {"selector": {"app": "app"}, "ports": [{"port": 80}]}}))
    .unwrap();
    Api::namespaced(store.clone(), "default").create(&svc).await.unwrap();
    Api::<Deployment>::namespaced(store.clone(), "default").create(&deployment(6)).await.unwrap();
    wait_for("6 pods running", Duration::from_secs(20), || {
        let store = store.clone();
        async move { running(&store).await.len() == 6 }
    })
    .await
    .unwrap();
    let placed = running(&store).await;
    let victim_node = placed[0].1.clone();
    let doomed: BTreeSet<String> = placed.iter().filter(|(_, n)| *n == victim_node).map(|(p, _)| p.clone()).collect();
    assert!(cp.kill_fake_node(&victim_node).await);

    wait_for("6 pods running on the two live nodes", Duration::from_secs(30), || {
        let (store, victim) = (store.clone(), victim_node.clone());
        async move {
            let now = running(&store).await;
            now.len() == 6 && now.iter().all(|(_, n)| *n != victim)
        }
    })
    .await
    .unwrap();
    let eps: Api<Endpoints> = Api::namespaced(store.clone(), "default");
    wait_for("the endpoints without the dead node's pods", Duration::from_secs(10), || {
        let (eps, doomed) = (eps.clone(), doomed.clone());
        async move {
            eps.get("app").await.is_ok_and(|e| {
                let names: BTreeSet<String> = e
                    .subsets
                    .iter()
                    .flat_map(|s| s.addresses.iter().filter_map(|a| a.target_ref.as_ref().and_then(|r| r.name.clone())))
                    .collect();
                names.len() == 6 && names.is_disjoint(&doomed)
            })
        }
    })
    .await
    .unwrap();
    cp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_components_carry_on_after_the_api_server_restarts() {
    let dir = std::env::temp_dir().join(format!("orch-tests-apirestart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (kv, registry) = open_durable(&dir).await;
    let server = ApiServer::new(registry.clone(), ServerConfig::default()).unwrap();
    let running_server = server.bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let addr = running_server.local_addr();
    let remote: Arc<dyn ObjectStore> = Arc::new(
        HttpClient::new(ClientConfig::new(running_server.url()).watch_resume_timeout(Duration::from_secs(60))).unwrap(),
    );
    let mut components = ControlPlane::components(remote.clone(), ControlPlaneConfig::default()).unwrap();
    components.add_fake_nodes(2).await.unwrap();
    Api::<Deployment>::namespaced(remote.clone(), "default").create(&deployment(2)).await.unwrap();
    wait_for("2 pods running", Duration::from_secs(20), || {
        let remote = remote.clone();
        async move { running(&remote).await.len() == 2 }
    })
    .await
    .unwrap();

    // The API server goes away and comes back on the same address and files.
    running_server.shutdown().await;
    kv.close();
    drop((kv, registry));
    let (kv, registry) = open_durable(&dir).await;
    let again = ApiServer::new(registry, ServerConfig::default()).unwrap().bind(addr, None).await.unwrap();
    Api::<Deployment>::namespaced(remote.clone(), "default")
        .patch("app", &Patch::Merge(serde_json::json!({"spec": {"replicas": 4}})))
        .await
        .unwrap();
    wait_for("4 pods running after the restart", Duration::from_secs(30), || {
        let remote = remote.clone();
        async move { running(&remote).await.len() == 4 }
    })
    .await
    .unwrap();
    components.stop().await;
    again.shutdown().await;
    kv.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_restarts_on_the_durable_store_with_everything_in_place() {
    let dir = std::env::temp_dir().join(format!("orch-tests-cprestart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (kv, registry) = open_durable(&dir).await;
    let mut cp = ControlPlane::over(registry, ControlPlaneConfig::default()).await.unwrap();
    cp.add_fake_nodes(2).await.unwrap();
    let store = cp.store();
    Api::<Deployment>::namespaced(store.clone(), "default").create(&deployment(3)).await.unwrap();
    wait_for("3 pods running", Duration::from_secs(20), || {
        let store = store.clone();
        async move { running(&store).await.len() == 3 }
    })
    .await
    .unwrap();
    let before: BTreeSet<String> = running(&store).await.into_iter().map(|(p, _)| p).collect();
    cp.stop().await;
    kv.close();
    drop((kv, store));

    // Everything comes back from disk; the new control plane picks up where the old one left.
    let (kv, registry) = open_durable(&dir).await;
    let mut cp = ControlPlane::over(registry, ControlPlaneConfig::default()).await.unwrap();
    let store = cp.store();
    let after: BTreeSet<String> = Api::<Pod>::namespaced(store.clone(), "default")
        .list(&ListParams::default().labels("app=app"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(after, before, "the pods are all still there");
    cp.add_fake_nodes(2).await.unwrap();
    Api::<Deployment>::namespaced(store.clone(), "default")
        .patch("app", &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    wait_for("5 pods running after the restart", Duration::from_secs(30), || {
        let store = store.clone();
        async move { running(&store).await.len() == 5 }
    })
    .await
    .unwrap();
    cp.stop().await;
    kv.close();
    let _ = std::fs::remove_dir_all(&dir);
}
