//! DockerRuntime against the machine's Docker engine with the local `orch-test/busybox` image
//! (built by `scripts/docker-test-image`, never pulled). Skipped, saying so, where no engine answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_core::kinds::{ContainerPort, HttpGetAction, IntOrString, Pod, Probe};
use orch_core::{Api, ObjectStore};
use orch_node::agent::{AgentConfig, NodeAgent};
use orch_node::runtime::{
    ContainerConfig, ContainerLimits, ContainerRunState, ContainerRuntime, DockerConfig, DockerRuntime, ListFilter,
    LogOptions, PodRef, RuntimeError,
};

use crate::common::{eventually, get_pod, node_ip, sh_pod, store};

const IMAGE: &str = "orch-test/busybox:latest";
const LONG: Duration = Duration::from_secs(60);

/// The engine, with the test image built; `None` (after saying why) when no engine answers.
async fn engine() -> Option<DockerRuntime> {
    match DockerRuntime::connect(DockerConfig::default().pull(false)).await {
        Ok(rt) => {
            if rt.ensure_image(IMAGE).await.is_err() {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/docker-test-image");
                let ok = std::process::Command::new("bash").arg(script).status().is_ok_and(|s| s.success());
                assert!(ok, "building {IMAGE} with {script} failed");
            }
            Some(rt)
        }
        Err(RuntimeError::Unreachable(why)) => {
            eprintln!("SKIPPED: no Docker engine answers ({why}); the Docker runtime tests did not run");
            None
        }
        Err(e) => panic!("unexpected error connecting to Docker: {e}"),
    }
}

fn config(pod: &str, uid: &str, node: &str, script: &str) -> ContainerConfig {
    ContainerConfig {
        pod: PodRef { namespace: "default".into(), name: pod.into(), uid: uid.into() },
        node_name: node.into(),
        name: "c".into(),
        image: IMAGE.into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![("WHO".into(), "docker".into())],
        ..Default::default()
    }
}

#[tokio::test]
async fn docker_container_runs_logs_exits_and_stops_within_its_grace() {
    let Some(rt) = engine().await else { return };
    // Leftovers of an earlier, failed run of this test.
    for c in rt.list(&ListFilter { node_name: Some("docker-it".into()), pod_uid: None }).await.unwrap() {
        let _ = rt.remove(&c.id).await;
    }
    let uid = format!("it-{}", std::process::id());
    let id = rt.create(&config("exiter", &uid, "docker-it", "echo hi $WHO; exit 3")).await.unwrap();
    rt.start(&id).await.unwrap();
    let exit = tokio::time::timeout(LONG, rt.wait(&id)).await.unwrap().unwrap();
    assert_eq!(exit.exit_code, 3);
    let mut logs = rt.logs(&id, &LogOptions::default()).await.unwrap();
    let mut text = Vec::new();
    while let Some(chunk) = logs.next().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(String::from_utf8_lossy(&text), "hi docker\n");
    let found = rt.list(&ListFilter { pod_uid: Some(uid.clone()), node_name: None }).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].pod.name, "exiter");
    rt.remove(&id).await.unwrap();

    let script = "trap '' TERM; echo trapped; sleep 300 & wait";
    let stubborn = rt.create(&config("stubborn", &uid, "docker-it", script)).await.unwrap();
    rt.start(&stubborn).await.unwrap();
    // Only once the shell has set its trap does SIGTERM go unheard.
    eventually("the trap set", LONG, || async {
        let mut logs = rt.logs(&stubborn, &LogOptions::default()).await.ok()?;
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&text).contains("trapped").then_some(())
    })
    .await;
    let t0 = Instant::now();
    rt.stop(&stubborn, Duration::from_secs(1)).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(900), "killed before the grace period: {:?}", t0.elapsed());
    assert!(matches!(rt.status(&stubborn).await.unwrap().state, ContainerRunState::Exited(_)));
    rt.remove(&stubborn).await.unwrap();
    assert!(rt.list(&ListFilter { pod_uid: Some(uid), node_name: None }).await.unwrap().is_empty());
}

#[tokio::test]
async fn docker_pods_serve_on_their_pod_ip_and_restarted_agents_reconcile_leftovers() {
    let Some(rt) = engine().await else { return };
    let rt = Arc::new(rt);
    let store: Arc<dyn ObjectStore> = store().await;
    let node = format!("docker-node-{}", std::process::id());
    let start_agent = |rt: Arc<DockerRuntime>| {
        let config = AgentConfig::new(&node).node_ip(node_ip(30)).log_port(None).fallback_pod_cidr("127.126.30.0/24");
        NodeAgent::new(config, store.clone(), rt).start()
    };
    let agent = start_agent(rt.clone()).await.unwrap();
    let mut pod = sh_pod("web", &node, "");
    let c = &mut pod.spec.containers[0];
    c.image = IMAGE.into();
    c.command = vec!["httpd".into(), "-f".into(), "-p".into(), "$(POD_IP):8080".into(), "-h".into(), "/".into()];
    c.env = serde_json::from_value(serde_json::json!([
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    ]))
    .unwrap();
    c.ports = vec![ContainerPort { name: Some("http".into()), container_port: 8080, ..Default::default() }];
    c.readiness_probe = Some(Probe {
        http_get: Some(HttpGetAction {
            // busybox httpd serves files (a directory without an index is a 404).
            path: Some("/etc/passwd".into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(1),
        ..Default::default()
    });
    pod.spec.termination_grace_period_seconds = Some(2);
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.create(&pod).await.unwrap();
    let ready =
        eventually("docker pod ready", LONG, || async { get_pod(&store, "web").await.filter(Pod::is_ready) }).await;
    let ip = ready.status.pod_ip.clone().unwrap();
    assert!(ip.starts_with("127.126.30."), "{ip}");
    assert!(tokio::net::TcpStream::connect((ip.as_str(), 8080)).await.is_ok());

    // An agent restart: the running container is adopted, a leftover of a vanished pod removed.
    agent.stop().await;
    let ghost = rt.create(&config("ghost", "ghost-uid", &node, "sleep 300")).await.unwrap();
    rt.start(&ghost).await.unwrap();
    let agent = start_agent(rt.clone()).await.unwrap();
    eventually("leftover removed", LONG, || async {
        matches!(rt.status(&ghost).await, Err(RuntimeError::NotFound { .. })).then_some(())
    })
    .await;
    let after = get_pod(&store, "web").await.unwrap();
    assert_eq!(after.status.container_statuses[0].container_id, ready.status.container_statuses[0].container_id);

    pods.delete("web", &Default::default()).await.unwrap();
    eventually("pod gone", LONG, || async { get_pod(&store, "web").await.is_none().then_some(()) }).await;
    let filter = ListFilter { node_name: Some(node.clone()), pod_uid: None };
    assert!(rt.list(&filter).await.unwrap().is_empty());
    agent.stop().await;
}

#[tokio::test]
async fn docker_memory_limit_kills_with_oom_killed() {
    let Some(rt) = engine().await else { return };
    let uid = format!("oom-{}", std::process::id());
    let mut cfg = config("hog", &uid, "docker-it-oom", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived");
    cfg.limits = ContainerLimits { memory_bytes: Some(8 * 1024 * 1024), cpu_millis: Some(500) };
    let id = rt.create(&cfg).await.unwrap();
    rt.start(&id).await.unwrap();
    let exit = tokio::time::timeout(LONG, rt.wait(&id)).await.unwrap().unwrap();
    rt.remove(&id).await.unwrap();
    assert_eq!(exit.reason.as_deref(), Some("OOMKilled"), "{exit:?}");
    assert_eq!(exit.exit_code, 137);
}
