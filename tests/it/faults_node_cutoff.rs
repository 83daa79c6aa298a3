//! A node agent cut off: it crashes while its pods run, their containers outliving it. The
//! node goes NotReady, its pods are evicted and replaced elsewhere and leave the Endpoints;
//! a new agent for the node on the same runtime kills the replaced pods' containers instead of
//! running duplicates, and the node turns Ready again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_controllers::controllers::node_lifecycle::{NodeLifecycleConfig, UNREACHABLE_TAINT};
use orch_core::ObjectStore;
use orch_core::kinds::{Node, Pod, Service, find_condition};
use orch_core::store::Api;
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

use crate::faults_common::{FaultNode, app_pods, audit, deployment, live, trials};

const APP: &str = "cut";
const REPLICAS: usize = 6;

/// The node's Ready condition status (`True`, `False`, `Unknown`) and whether it is tainted
/// unreachable.
async fn node_state(store: &Arc<dyn ObjectStore>, name: &str) -> Option<(String, bool)> {
    let node = Api::<Node>::all(store.clone()).get(name).await.ok()?;
    let ready = find_condition(&node.status.conditions, "Ready").map(|c| c.status.clone())?;
    Some((ready, node.spec.taints.iter().any(|t| t.key == UNREACHABLE_TAINT)))
}

/// Running, live pods of the app.
fn running(pods: &[Pod]) -> Vec<&Pod> {
    live(pods).into_iter().filter(|p| p.status.phase.as_deref() == Some("Running")).collect()
}

/// Pod names in the app's Endpoints.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_node_agent_is_replaced_and_its_successor_runs_no_duplicates() {
    let cycles = trials(2);
    let started = Instant::now();
    let lifecycle = NodeLifecycleConfig {
        grace_period: Duration::from_secs(2),
        default_toleration: Duration::from_secs(1),
        ..Default::default()
    };
    let cp = ControlPlane::start(ControlPlaneConfig::default().node_lifecycle(lifecycle)).await.unwrap();
    let store = cp.store();
    let mut nodes: Vec<FaultNode> = (0..3).map(|i| FaultNode::new("cutoff", i)).collect();
    for n in &mut nodes {
        n.start_agent(&store).await;
    }
    let svc: Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "namespace": "default"},
        "spec": {"selector": {"app": APP}, "ports": [{"port": 80}]}}))
    .unwrap();
    Api::namespaced(store.clone(), "default").create(&svc).await.unwrap();
    Api::namespaced(store.clone(), "default").create(&deployment(APP, REPLICAS as i32)).await.unwrap();
    let (mut pods_checked, mut evicted_total) = (0, 0);
    for cycle in 0..cycles {
        wait_for("all pods running, in the endpoints, with their containers", Duration::from_secs(30), || {
            let (store, nodes) = (store.clone(), &nodes);
            async move {
                let Some(pods) = app_pods(&store, APP).await else { return false };
                let names: BTreeSet<String> = running(&pods).iter().map(|p| p.metadata.name_str().to_owned()).collect();
                pods.len() == REPLICAS
                    && names.len() == REPLICAS
                    && super::services::ready_names(&store, APP).await == names
                    && audit(&pods, nodes).await.clean()
            }
        })
        .await
        .unwrap();
        // The victim: the node running most of the pods.
        let pods = app_pods(&store, APP).await.unwrap();
        let on = |n: &FaultNode| pods.iter().filter(|p| p.spec.node_name.as_deref() == Some(&n.name)).count();
        let victim = (0..nodes.len()).max_by_key(|&i| on(&nodes[i])).unwrap();
        let vname = nodes[victim].name.clone();
        let doomed: BTreeSet<String> = pods
            .iter()
            .filter(|p| p.spec.node_name.as_deref() == Some(vname.as_str()))
            .filter_map(|p| p.metadata.uid.clone())
            .collect();
        assert!(!doomed.is_empty());
        evicted_total += doomed.len();
        nodes[victim].agent.take().unwrap().abort().await;

        wait_for("the cut-off node not ready and tainted", Duration::from_secs(20), || {
            let (store, vname) = (store.clone(), vname.clone());
            async move { node_state(&store, &vname).await.is_some_and(|(ready, tainted)| ready != "True" && tainted) }
        })
        .await
        .unwrap();
        wait_for("the pods replaced on the other nodes and out of the endpoints", Duration::from_secs(30), || {
            let (store, vname, doomed) = (store.clone(), vname.clone(), doomed.clone());
            async move {
                let Some(pods) = app_pods(&store, APP).await else { return false };
                let run = running(&pods);
                let gone = pods.iter().all(|p| !doomed.contains(p.metadata.uid.as_deref().unwrap_or_default()));
                let names: BTreeSet<String> = run.iter().map(|p| p.metadata.name_str().to_owned()).collect();
                gone && run.len() == REPLICAS
                    && run.iter().all(|p| p.spec.node_name.as_deref() != Some(vname.as_str()))
                    && super::services::ready_names(&store, APP).await == names
            }
        })
        .await
        .unwrap();
        // The crashed agent's containers still run: nobody stopped them.
        let left: BTreeSet<String> = nodes[victim].running_containers().await.into_iter().map(|c| c.pod.uid).collect();
        assert_eq!(left, doomed, "cycle {cycle}: the evicted pods' containers outlive the crashed agent");

        // A new agent for the node on the same runtime.
        nodes[victim].start_agent(&store).await;
        let back = wait_for("the node ready again and untainted", Duration::from_secs(20), || {
            let (store, vname) = (store.clone(), vname.clone());
            async move { node_state(&store, &vname).await == Some(("True".to_owned(), false)) }
        })
        .await;
        let node = Api::<Node>::all(store.clone()).get(&vname).await.unwrap();
        assert!(back.is_ok(), "cycle {cycle}: node {vname} stays {:?} {:?}", node.status.conditions, node.spec.taints);
        wait_for("the replaced pods' containers stopped", Duration::from_secs(20), || {
            let node = &nodes[victim];
            async move { node.running_containers().await.is_empty() }
        })
        .await
        .unwrap();
        let pods = app_pods(&store, APP).await.unwrap();
        let a = audit(&pods, &nodes).await;
        pods_checked += a.pods_checked;
        assert!(a.clean(), "cycle {cycle}: {a:?}");
        assert_eq!(running(&pods).len(), REPLICAS);
    }
    println!(
        "{{\"test\":\"node_cutoff\",\"cycles\":{cycles},\"pods_evicted\":{evicted_total},\"pods_checked\":{pods_checked},\
         \"duplicates\":0,\"seconds\":{:.1}}}",
        started.elapsed().as_secs_f64()
    );
    for n in &mut nodes {
        if let Some(agent) = n.agent.take() {
            agent.stop().await;
        }
    }
    cp.stop().await;
}
