//! Node agents with the FakeRuntime: registration, heartbeat, pods bound here, deletion.

use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Lease, Node, Pod};
use orch_core::{Api, ObjectStore, StoreError};
use orch_node::agent::{AgentConfig, AgentHandle, NODE_LEASE_NAMESPACE, NodeAgent};
use orch_node::runtime::fake::{FakeConfig, FakeScript};
use orch_node::runtime::{ContainerRuntime, FakeRuntime};

use crate::common::{eventually, get_pod, sh_pod, store};

fn config(node: &str) -> AgentConfig {
    AgentConfig::new(node).log_port(None).heartbeat_interval(Duration::from_millis(100))
}

/// Starts agent `n1` on `store` with `runtime`.
async fn start_n1(store: &Arc<dyn ObjectStore>, runtime: Arc<dyn ContainerRuntime>) -> AgentHandle {
    NodeAgent::new(config("n1"), store.clone(), runtime).start().await.unwrap()
}

#[tokio::test]
async fn agent_registers_its_node_and_renews_its_lease() {
    let store = store().await;
    let agent = start_n1(&store, Arc::new(FakeRuntime::new(Default::default()))).await;
    let nodes: Api<Node> = Api::all(store.clone());
    let node = nodes.get("n1").await.unwrap();
    assert!(orch_core::kinds::find_condition(&node.status.conditions, "Ready").unwrap().is_true());
    assert_eq!(node.status.addresses[0].address, "127.1.0.1");
    assert_eq!(node.status.allocatable["pods"].0, "110");
    let leases: Api<Lease> = Api::namespaced(store.clone(), NODE_LEASE_NAMESPACE);
    let first = leases.get("n1").await.unwrap().spec.renew_time.unwrap();
    assert_eq!(leases.get("n1").await.unwrap().spec.lease_duration_seconds, Some(40));
    eventually("a renewed lease", Duration::from_secs(10), || {
        let leases = leases.clone();
        async move { (leases.get("n1").await.unwrap().spec.renew_time.unwrap() > first).then_some(()) }
    })
    .await;
    agent.stop().await;
}

#[tokio::test]
async fn pods_bound_here_run_and_others_are_left_alone() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(Default::default()));
    let agent = start_n1(&store, runtime.clone()).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.create(&sh_pod("mine", "n1", "x")).await.unwrap();
    pods.create(&sh_pod("theirs", "n2", "x")).await.unwrap();
    let mine = eventually("pod running", Duration::from_secs(10), || async {
        get_pod(&store, "mine").await.filter(|p| p.is_ready() && p.status.phase.as_deref() == Some("Running"))
    })
    .await;
    assert_eq!(mine.status.host_ip.as_deref(), Some("127.1.0.1"));
    assert!(mine.status.pod_ip.as_deref().unwrap().starts_with("127.96.1."));
    assert_eq!(mine.status.container_statuses[0].restart_count, 0);
    let theirs = get_pod(&store, "theirs").await.unwrap();
    assert_ne!(theirs.status.phase.as_deref(), Some("Running"));
    assert_eq!(runtime.container_count(), 1);

    // Graceful deletion: the agent stops the containers and confirms.
    pods.delete("mine", &Default::default()).await.unwrap();
    eventually("pod gone", Duration::from_secs(10), || async { get_pod(&store, "mine").await.is_none().then_some(()) })
        .await;
    assert_eq!(runtime.container_count(), 0);
    agent.stop().await;
}

#[tokio::test]
async fn a_completed_pod_under_never_succeeds_and_a_failed_one_fails() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(FakeConfig::default()));
    runtime.script_image("ok", FakeScript::default().exit_after(Duration::from_millis(50), 0));
    runtime.script_image("bad", FakeScript::default().exit_after(Duration::from_millis(50), 2));
    let agent = start_n1(&store, runtime).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    for (name, image) in [("ok", "ok"), ("bad", "bad")] {
        let mut p = sh_pod(name, "n1", "");
        p.spec.containers[0].image = image.into();
        p.spec.restart_policy = Some("Never".into());
        pods.create(&p).await.unwrap();
    }
    for (name, phase, code) in [("ok", "Succeeded", 0), ("bad", "Failed", 2)] {
        let p = eventually(phase, Duration::from_secs(10), || async {
            get_pod(&store, name).await.filter(|p| p.status.phase.as_deref() == Some(phase))
        })
        .await;
        let term = p.status.container_statuses[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!(term.exit_code, code);
    }
    agent.stop().await;
}

#[tokio::test]
async fn pod_ips_come_from_the_nodes_pod_cidr() {
    let store = store().await;
    let nodes: Api<Node> = Api::all(store.clone());
    let mut n = Node { metadata: orch_core::ObjectMeta::named("n1"), ..Default::default() };
    n.spec.pod_cidr = Some("127.64.7.0/24".into());
    nodes.create(&n).await.unwrap();
    let agent = start_n1(&store, Arc::new(FakeRuntime::new(Default::default()))).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.create(&sh_pod("a", "n1", "")).await.unwrap();
    pods.create(&sh_pod("b", "n1", "")).await.unwrap();
    let mut ips = Vec::new();
    for name in ["a", "b"] {
        let p = eventually("pod ip", Duration::from_secs(10), || async {
            get_pod(&store, name).await.and_then(|p| p.status.pod_ip)
        })
        .await;
        assert!(p.starts_with("127.64.7."), "{p}");
        ips.push(p);
    }
    assert_ne!(ips[0], ips[1]);
    agent.stop().await;
    assert!(matches!(nodes.create(&n).await, Err(StoreError::AlreadyExists { .. })));
}

#[tokio::test]
async fn init_containers_run_to_completion_before_the_main_containers() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(FakeConfig::default()));
    runtime.script_image("init", FakeScript::default().exit_after(Duration::from_millis(300), 0));
    let agent = start_n1(&store, runtime.clone()).await;
    let mut p = sh_pod("with-init", "n1", "");
    p.spec.init_containers.push(orch_core::kinds::Container {
        name: "setup".into(),
        image: "init".into(),
        ..Default::default()
    });
    Api::<Pod>::namespaced(store.clone(), "default").create(&p).await.unwrap();
    let pending = eventually("init running", Duration::from_secs(10), || async {
        get_pod(&store, "with-init").await.filter(|p| !p.status.init_container_statuses.is_empty())
    })
    .await;
    assert_eq!(pending.status.phase.as_deref(), Some("Pending"));
    let main_state = pending.status.container_statuses[0].state.clone().unwrap();
    assert!(main_state.waiting.is_some(), "{main_state:?}");
    let running = eventually("main running", Duration::from_secs(10), || async {
        get_pod(&store, "with-init").await.filter(|p| p.status.phase.as_deref() == Some("Running"))
    })
    .await;
    let init = running.status.init_container_statuses[0].state.clone().unwrap().terminated.unwrap();
    assert_eq!(init.reason.as_deref(), Some("Completed"));
    assert!(orch_core::kinds::find_condition(&running.status.conditions, "Initialized").unwrap().is_true());
    agent.stop().await;
}

#[tokio::test]
async fn a_restarted_agent_does_not_rerun_a_finished_pod() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(FakeConfig::default()));
    runtime.script_image("job", FakeScript::default().exit_after(Duration::from_millis(50), 0));
    let agent = start_n1(&store, runtime.clone()).await;
    let mut p = sh_pod("job", "n1", "");
    p.spec.containers[0].image = "job".into();
    p.spec.restart_policy = Some("Never".into());
    Api::<Pod>::namespaced(store.clone(), "default").create(&p).await.unwrap();
    eventually("job done", Duration::from_secs(10), || async {
        get_pod(&store, "job").await.filter(|p| p.status.phase.as_deref() == Some("Succeeded"))
    })
    .await;
    agent.stop().await;
    // A new agent with an empty runtime (the containers are gone) must not start the job again.
    let fresh = Arc::new(FakeRuntime::new(FakeConfig::default()));
    let agent = start_n1(&store, fresh.clone()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fresh.container_count(), 0);
    assert_eq!(get_pod(&store, "job").await.unwrap().status.phase.as_deref(), Some("Succeeded"));
    agent.stop().await;
}

#[tokio::test]
async fn a_pod_cidr_assigned_after_registration_is_used_for_new_pods() {
    let store = store().await;
    let agent = start_n1(&store, Arc::new(FakeRuntime::new(Default::default()))).await;
    let nodes: Api<Node> = Api::all(store.clone());
    let mut node = nodes.get("n1").await.unwrap();
    node.spec.pod_cidr = Some("127.64.9.0/24".into());
    nodes.update(&node).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    Api::<Pod>::namespaced(store.clone(), "default").create(&sh_pod("late", "n1", "")).await.unwrap();
    let ip = eventually("pod ip", Duration::from_secs(10), || async {
        get_pod(&store, "late").await.and_then(|p| p.status.pod_ip)
    })
    .await;
    assert!(ip.starts_with("127.64.9."), "{ip}");
    agent.stop().await;
}

#[tokio::test]
async fn a_startup_probe_gates_readiness_and_restarts_a_container_that_never_starts() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(FakeConfig::default()));
    runtime.script_image("never-starts", FakeScript::default().exec_fails());
    let agent = start_n1(&store, runtime).await;
    let probe = orch_core::kinds::Probe {
        exec: Some(orch_core::kinds::ExecAction { command: vec!["true".into()] }),
        period_seconds: Some(1),
        failure_threshold: Some(1),
        ..Default::default()
    };
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let mut good = sh_pod("starts", "n1", "");
    good.spec.containers[0].startup_probe = Some(probe.clone());
    let mut bad = sh_pod("stuck", "n1", "");
    bad.spec.containers[0].image = "never-starts".into();
    bad.spec.containers[0].startup_probe = Some(probe);
    bad.metadata.annotations.insert(orch_node::ANNOTATION_BACKOFF_INITIAL.into(), "0.1".into());
    pods.create(&good).await.unwrap();
    pods.create(&bad).await.unwrap();
    let started = eventually("started and ready", Duration::from_secs(10), || async {
        get_pod(&store, "starts").await.filter(Pod::is_ready)
    })
    .await;
    assert_eq!(started.status.container_statuses[0].started, Some(true));
    let stuck = eventually("restarted for failing its startup probe", Duration::from_secs(10), || async {
        get_pod(&store, "stuck").await.filter(|p| p.status.container_statuses[0].restart_count >= 1)
    })
    .await;
    assert!(!stuck.is_ready());
    agent.stop().await;
}

#[tokio::test]
async fn a_pod_past_its_active_deadline_is_stopped_and_failed() {
    let store = store().await;
    let runtime = Arc::new(FakeRuntime::new(FakeConfig::default()));
    let agent = start_n1(&store, runtime.clone()).await;
    let mut p = sh_pod("batch", "n1", "");
    p.spec.active_deadline_seconds = Some(1);
    Api::<Pod>::namespaced(store.clone(), "default").create(&p).await.unwrap();
    let failed = eventually("deadline exceeded", Duration::from_secs(10), || async {
        get_pod(&store, "batch").await.filter(|p| p.status.phase.as_deref() == Some("Failed"))
    })
    .await;
    assert_eq!(failed.status.reason.as_deref(), Some("DeadlineExceeded"));
    assert!(!failed.is_ready());
    assert!(failed.status.container_statuses[0].state.clone().unwrap().terminated.is_some());
    agent.stop().await;
}
