//! A rolling update under live traffic: requests through the Service never fail while every
//! replica is replaced (new replicas take traffic once ready; old ones leave the endpoints when
//! they start terminating, then drain).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use orch_core::Patch;
use orch_core::kinds::{Deployment, Pod};
use orch_core::store::{Api, ListParams};
use orch_node::proxy::{ProxyConfig, ServiceProxy};
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

use crate::services::{agents, deployment, get, ready_endpoints, teardown};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_under_live_traffic_fails_no_request() {
    let _turn = crate::procs::network_turn().await;
    let cp = ControlPlane::start(ControlPlaneConfig::default()).await.unwrap();
    let store = cp.store();
    let (agents, _processes) = agents(store.clone(), "roll").await;
    let node_ips = (1..=3u8).map(|i| std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 1, 7, i)));
    let proxy = ServiceProxy::new(ProxyConfig::default().node_addresses(node_ips)).spawn(store.clone());
    let svc: orch_core::kinds::Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "whoami", "namespace": "default"},
        "spec": {"selector": {"app": "whoami"}, "ports": [{"port": 80, "targetPort": "http"}]}}))
    .unwrap();
    let cluster_ip = Api::namespaced(store.clone(), "default").create(&svc).await.unwrap().spec.cluster_ip.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(store.clone(), "default");
    let mut app = deployment(3);
    app.spec.template.spec.termination_grace_period_seconds = Some(5);
    deployments.create(&app).await.unwrap();
    wait_for("3 ready endpoints", Duration::from_secs(30), || {
        let store = store.clone();
        async move { ready_endpoints(&store, "whoami").await.len() == 3 }
    })
    .await
    .unwrap();

    // Live traffic: one request after another through the ClusterIP, counting failures.
    let (stop, sent, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let traffic = {
        let (stop, sent, failed, addr) = (stop.clone(), sent.clone(), failed.clone(), format!("{cluster_ip}:80"));
        tokio::spawn(async move {
            let mut errors = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                if let Err(e) = get(&addr, "/").await {
                    failed.fetch_add(1, Ordering::SeqCst);
                    errors.push(e);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            errors
        })
    };

    // The update: a new version in the pod template replaces every replica, one at a time.
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "VERSION", "value": "v2"}]}]}}}});
    deployments.patch("whoami", &Patch::Strategic(patch)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    wait_for("every replica replaced by v2", Duration::from_secs(60), || {
        let pods = pods.clone();
        async move {
            let list =
                pods.list(&ListParams::default().labels("app=whoami")).await.map(|l| l.items).unwrap_or_default();
            list.len() == 3
                && list.iter().all(|p| {
                    p.spec.containers[0].env.iter().any(|e| e.name == "VERSION")
                        && orch_core::kinds::find_condition(&p.status.conditions, "Ready").is_some_and(|c| c.is_true())
                })
        }
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let errors = traffic.await.unwrap();
    let (sent, failed) = (sent.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    assert!(sent > 50, "traffic ran throughout ({sent} requests)");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed during the rollout: {errors:?}");
    assert!(get(&format!("{cluster_ip}:80"), "/").await.unwrap().ends_with("v2"), "the new version serves");

    teardown(cp, agents, proxy).await;
}
