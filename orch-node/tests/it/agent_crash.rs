//! An agent that crashes and one that comes back on the same runtime; housekeeping of
//! containers whose pod the agent no longer has; a Ready condition someone else overwrote.

use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Lease, Node, Pod, find_condition};
use orch_core::store::DeleteOptions;
use orch_core::{Api, ObjectStore};
use orch_node::agent::{AgentConfig, AgentHandle, NODE_LEASE_NAMESPACE, NodeAgent};
use orch_node::runtime::{ContainerConfig, ContainerId, ContainerRuntime, FakeRuntime, PodRef};

use crate::common::{eventually, get_pod, sh_pod, store};

const NODE: &str = "crash-n1";

async fn start(store: &Arc<dyn ObjectStore>, runtime: &Arc<FakeRuntime>) -> AgentHandle {
    let config = AgentConfig::new(NODE)
        .log_port(None)
        .heartbeat_interval(Duration::from_millis(100))
        .housekeeping_interval(Duration::from_millis(100));
    NodeAgent::new(config, store.clone(), runtime.clone()).start().await.unwrap()
}

/// The id of the one container of running pod `name`.
async fn running_container(store: &Arc<dyn ObjectStore>, name: &str) -> String {
    eventually("pod running", Duration::from_secs(10), || async {
        let pod = get_pod(store, name).await.filter(|p| p.is_ready())?;
        pod.status.container_statuses.first().and_then(|s| s.container_id.clone())
    })
    .await
}

/// Pod uids of the containers the runtime holds for the node.
async fn container_pods(runtime: &FakeRuntime) -> Vec<String> {
    let mut uids: Vec<String> =
        runtime.list(&Default::default()).await.unwrap().into_iter().map(|c| c.pod.uid).collect();
    uids.sort();
    uids
}

#[tokio::test]
async fn after_a_crash_a_new_agent_kills_containers_of_pods_deleted_meanwhile_and_adopts_the_rest() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(Default::default()));
    let agent = start(&store, &runtime).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.create(&sh_pod("gone", NODE, "x")).await.unwrap();
    pods.create(&sh_pod("kept", NODE, "x")).await.unwrap();
    running_container(&store, "gone").await;
    let kept_before = running_container(&store, "kept").await;
    agent.abort().await;

    // The crashed agent renews nothing and its containers keep running.
    let leases: Api<Lease> = Api::namespaced(store.clone(), NODE_LEASE_NAMESPACE);
    let renewed = leases.get(NODE).await.unwrap().spec.renew_time;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(leases.get(NODE).await.unwrap().spec.renew_time, renewed, "no heartbeat after the crash");
    assert_eq!(runtime.container_count(), 2);

    // Meanwhile one pod is force-deleted (as the node lifecycle controller evicts).
    let gone_uid = get_pod(&store, "gone").await.unwrap().metadata.uid.unwrap();
    pods.delete("gone", &DeleteOptions::default().grace_period(0)).await.unwrap();
    let agent = start(&store, &runtime).await;
    let kept_uid = get_pod(&store, "kept").await.unwrap().metadata.uid.unwrap();
    eventually("only the kept pod's container left", Duration::from_secs(10), || async {
        (container_pods(&runtime).await == vec![kept_uid.clone()]).then_some(())
    })
    .await;
    assert!(!container_pods(&runtime).await.contains(&gone_uid));
    assert_eq!(running_container(&store, "kept").await, kept_before, "adopted, not restarted");
    agent.stop().await;
}

#[tokio::test]
async fn housekeeping_kills_containers_of_pods_the_agent_does_not_have() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(Default::default()));
    let agent = start(&store, &runtime).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.create(&sh_pod("real", NODE, "x")).await.unwrap();
    running_container(&store, "real").await;
    // A container appears for a pod this agent never had (left by someone else, after start-up).
    let stray = |node: &str| ContainerConfig {
        pod: PodRef { namespace: "default".into(), name: "ghost".into(), uid: format!("ghost-on-{node}") },
        node_name: node.into(),
        name: "c".into(),
        image: "app".into(),
        ..Default::default()
    };
    let ghost: ContainerId = runtime.create(&stray(NODE)).await.unwrap();
    runtime.start(&ghost).await.unwrap();
    // One of another node is none of this agent's business.
    let other = runtime.create(&stray("crash-n2")).await.unwrap();
    runtime.start(&other).await.unwrap();
    eventually("the stray container removed", Duration::from_secs(10), || async {
        runtime.status(&ghost).await.is_err().then_some(())
    })
    .await;
    let real_uid = get_pod(&store, "real").await.unwrap().metadata.uid.unwrap();
    let mut expected = vec![real_uid, "ghost-on-crash-n2".to_owned()];
    expected.sort();
    assert_eq!(container_pods(&runtime).await, expected);
    agent.stop().await;
}

#[tokio::test]
async fn a_ready_condition_overwritten_by_someone_else_is_reported_again_at_the_next_heartbeat() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(Default::default()));
    // The status interval is long (60 s): only the drift makes the agent write again.
    let agent = start(&store, &runtime).await;
    let nodes: Api<Node> = Api::all(store.clone());
    // What the node lifecycle controller writes when it thinks the lease is stale.
    let mut node = nodes.get(NODE).await.unwrap();
    for c in node.status.conditions.iter_mut().filter(|c| c.type_ == "Ready") {
        c.status = "Unknown".into();
        c.reason = Some("NodeStatusUnknown".into());
    }
    node.metadata.resource_version = None;
    nodes.update_status(&node).await.unwrap();
    eventually("the node ready again", Duration::from_secs(5), || async {
        let node = nodes.get(NODE).await.unwrap();
        find_condition(&node.status.conditions, "Ready").is_some_and(|c| c.is_true()).then_some(())
    })
    .await;
    agent.stop().await;
}
