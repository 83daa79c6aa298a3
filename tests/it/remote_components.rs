//! The scheduler and controllers out of process: over the HTTP client against a live API
//! server, unchanged, they roll a Deployment out onto nodes.

use std::sync::Arc;
use std::time::Duration;

use orch_api::client::{ClientConfig, HttpClient};
use orch_core::kinds::{Deployment, Node, Pod};
use orch_core::store::{Api, ListParams};
use orch_core::{ObjectMeta, ObjectStore};
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_and_controllers_over_http_place_a_deployment() {
    // The store and API server alone...
    let mut server =
        ControlPlane::start(ControlPlaneConfig::default().without_controllers().without_scheduler()).await.unwrap();
    let url = server.serve_api().await.unwrap();
    // ...and the components in "another process": they only see the HTTP client.
    let remote: Arc<dyn ObjectStore> = Arc::new(HttpClient::new(ClientConfig::new(url)).unwrap());
    let components = ControlPlane::components(remote.clone(), ControlPlaneConfig::default()).unwrap();

    let nodes: Api<Node> = Api::all(remote.clone());
    for i in 0..3 {
        let mut node = Node { metadata: ObjectMeta::named(format!("n{i}")), ..Default::default() };
        for (k, v) in [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")] {
            node.status.capacity.insert(k.into(), v.into());
            node.status.allocatable.insert(k.into(), v.into());
        }
        nodes.create(&node).await.unwrap();
    }
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "busybox"}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(remote.clone(), "default").create(&deployment).await.unwrap();

    let pods: Api<Pod> = Api::namespaced(remote.clone(), "default");
    wait_for("4 pods bound to nodes", Duration::from_secs(20), || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default().labels("app=web")).await.map(|l| l.items).unwrap_or_default();
            list.len() == 4 && list.iter().all(|p| p.spec.node_name.as_deref().is_some_and(|n| n.starts_with('n')))
        }
    })
    .await
    .unwrap();
    // Node IPAM ran over HTTP too.
    let cidrs: Vec<_> =
        nodes.list(&ListParams::default()).await.unwrap().items.into_iter().filter_map(|n| n.spec.pod_cidr).collect();
    assert_eq!(cidrs.len(), 3, "{cidrs:?}");
    components.stop().await;
    server.stop().await;
}
