//! Node agents with the ProcessRuntime running real processes: backoff, probes, deletion,
//! environment, logs and agent restarts.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::kinds::{ExecAction, Pod, Probe};
use orch_core::{Api, ObjectStore};
use orch_node::agent::{AgentConfig, AgentHandle, NodeAgent};
use orch_node::runtime::{ContainerConfig, ContainerRuntime, PodRef, ProcessConfig, ProcessRuntime, process_exists};
use orch_node::{ANNOTATION_BACKOFF_INITIAL, BackoffConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{eventually, get_pod, node_ip, sh_pod, store, temp_dir};
use crate::process_runtime::group_alive;

const LONG: Duration = Duration::from_secs(30);

async fn agent(store: &Arc<dyn ObjectStore>, node: &str, ip: u8, state: &Path) -> (AgentHandle, Arc<ProcessRuntime>) {
    let rt = Arc::new(
        ProcessRuntime::new(ProcessConfig::default().state_dir(state).poll_interval(Duration::from_millis(50)))
            .unwrap(),
    );
    let config = AgentConfig::new(node)
        .node_ip(node_ip(ip))
        .log_port(Some(0))
        .fallback_pod_cidr(format!("127.126.{ip}.0/24"))
        .backoff(BackoffConfig::default().initial(Duration::from_millis(200)));
    let handle = NodeAgent::new(config, store.clone(), rt.clone()).start().await.unwrap();
    (handle, rt)
}

fn exec_probe(script: &str) -> Probe {
    Probe {
        exec: Some(ExecAction { command: vec!["sh".into(), "-c".into(), script.into()] }),
        period_seconds: Some(1),
        failure_threshold: Some(1),
        // Generous, so a loaded machine does not fail a probe by its timeout.
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

fn pods(store: &Arc<dyn ObjectStore>) -> Api<Pod> {
    Api::namespaced(store.clone(), "default")
}

/// Deletes a pod and waits until its agent confirmed (so no process outlives the test).
async fn delete_and_wait(store: &Arc<dyn ObjectStore>, name: &str) {
    pods(store).delete(name, &Default::default()).await.unwrap();
    eventually("pod gone", LONG, || async { get_pod(store, name).await.is_none().then_some(()) }).await;
}

async fn running(store: &Arc<dyn ObjectStore>, name: &str) -> Pod {
    eventually("pod running", LONG, || async {
        get_pod(store, name).await.filter(|p| {
            p.status.phase.as_deref() == Some("Running")
                && p.status.container_statuses.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        })
    })
    .await
}

#[tokio::test]
async fn a_crashing_container_backs_off_with_growing_delays() {
    let store = store().await;
    let dir = temp_dir("crash");
    let (agent, _) = agent(&store, "crash-node", 1, &dir.join("state")).await;
    let starts = dir.join("starts");
    let script = format!("date +%s.%N >> {}; echo crashing; exit 1", starts.display());
    let mut pod = sh_pod("crasher", "crash-node", &script);
    pod.metadata.annotations.insert(ANNOTATION_BACKOFF_INITIAL.into(), "0.3".into());
    pods(&store).create(&pod).await.unwrap();
    let p = eventually("4 starts", LONG, || async {
        let n = std::fs::read_to_string(&starts).map(|s| s.lines().count()).unwrap_or(0);
        if n >= 4 { get_pod(&store, "crasher").await } else { None }
    })
    .await;
    let times: Vec<f64> =
        std::fs::read_to_string(&starts).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Backoff 0.3 s, 0.6 s, 1.2 s: each gap at least its delay, and growing.
    for (gap, want) in gaps.iter().zip([0.3, 0.6, 1.2]) {
        assert!(*gap >= want * 0.9, "gaps {gaps:?}");
    }
    assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "gaps {gaps:?}");
    let cs = &p.status.container_statuses[0];
    assert!(cs.restart_count >= 2, "{cs:?}");
    assert_eq!(cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap().exit_code, 1);
    let crash = eventually("CrashLoopBackOff", LONG, || async {
        let p = get_pod(&store, "crasher").await?;
        let w = p.status.container_statuses[0].state.clone()?.waiting?;
        (w.reason.as_deref() == Some("CrashLoopBackOff")).then_some(w)
    })
    .await;
    assert!(crash.message.unwrap().contains("back-off"));
    // The attempt before the current one keeps its log until the next restart.
    let addr = agent.log_address().unwrap();
    let previous = http_get(addr, "/containerLogs/default/crasher/main?previous=true").await;
    assert!(previous.starts_with("HTTP/1.1 200") && previous.contains("crashing"), "{previous}");
    delete_and_wait(&store, "crasher").await;
    agent.stop().await;
}

#[tokio::test]
async fn a_failing_liveness_probe_restarts_the_container() {
    let store = store().await;
    let dir = temp_dir("live");
    let (agent, _) = agent(&store, "live-node", 2, &dir.join("state")).await;
    let healthy = dir.join("healthy");
    std::fs::write(&healthy, "").unwrap();
    let mut pod = sh_pod("lively", "live-node", &format!("touch {}; exec sleep 300", healthy.display()));
    let mut probe = exec_probe(&format!("test -f {}", healthy.display()));
    probe.initial_delay_seconds = Some(1);
    pod.spec.containers[0].liveness_probe = Some(probe);
    pods(&store).create(&pod).await.unwrap();
    let first = running(&store, "lively").await;
    let first_id = first.status.container_statuses[0].container_id.clone();
    assert_eq!(first.status.container_statuses[0].restart_count, 0);
    std::fs::remove_file(&healthy).unwrap();
    let restarted = eventually("a restart", LONG, || async {
        get_pod(&store, "lively").await.filter(|p| {
            let c = &p.status.container_statuses[0];
            // At least one restart (a loaded machine may time a probe out once more).
            c.restart_count >= 1 && c.state.as_ref().is_some_and(|s| s.running.is_some())
        })
    })
    .await;
    let c = &restarted.status.container_statuses[0];
    assert_ne!(c.container_id, first_id);
    assert!(c.last_state.as_ref().unwrap().terminated.is_some());
    delete_and_wait(&store, "lively").await;
    agent.stop().await;
}

#[tokio::test]
async fn readiness_follows_the_readiness_probe() {
    let store = store().await;
    let dir = temp_dir("ready");
    let (agent, _) = agent(&store, "ready-node", 3, &dir.join("state")).await;
    let flag = dir.join("ready");
    let mut pod = sh_pod("readying", "ready-node", "exec sleep 300");
    let mut probe = exec_probe(&format!("test -f {}", flag.display()));
    probe.failure_threshold = Some(1);
    pod.spec.containers[0].readiness_probe = Some(probe);
    pods(&store).create(&pod).await.unwrap();
    let p = running(&store, "readying").await;
    assert!(!p.is_ready());
    let ready = |want: bool| {
        let store = store.clone();
        async move {
            eventually(if want { "ready" } else { "not ready" }, LONG, || async {
                get_pod(&store, "readying").await.filter(|p| p.is_ready() == want).map(|_| ())
            })
            .await
        }
    };
    std::fs::write(&flag, "").unwrap();
    ready(true).await;
    std::fs::remove_file(&flag).unwrap();
    ready(false).await;
    delete_and_wait(&store, "readying").await;
    agent.stop().await;
}

#[tokio::test]
async fn deletion_stops_within_the_grace_period_and_leaves_no_process() {
    let store = store().await;
    let dir = temp_dir("delete");
    let (agent, _) = agent(&store, "del-node", 4, &dir.join("state")).await;
    let pidfile = dir.join("pid");
    // Ignores SIGTERM, so only the SIGKILL after the 1 s grace period ends it; its child too.
    // (`$$$$` is `$$` after Kubernetes' `$(VAR)` expansion, which turns `$$` into `$`.)
    let script = format!("trap '' TERM; echo $$$$ > {}; sleep 300 & wait", pidfile.display());
    let mut pod = sh_pod("stubborn", "del-node", &script);
    pod.spec.termination_grace_period_seconds = Some(1);
    pods(&store).create(&pod).await.unwrap();
    running(&store, "stubborn").await;
    let pid: i32 = eventually("pid file", LONG, || async {
        std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse().ok())
    })
    .await;
    assert!(process_exists(pid));
    let t0 = Instant::now();
    pods(&store).delete("stubborn", &Default::default()).await.unwrap();
    eventually("pod gone", LONG, || async { get_pod(&store, "stubborn").await.is_none().then_some(()) }).await;
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(900), "deleted before the grace period ended: {took:?}");
    eventually("no process left", Duration::from_secs(5), || async {
        (!process_exists(pid) && !group_alive(pid)).then_some(())
    })
    .await;
    agent.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn containers_see_the_downward_api_and_services_and_logs_are_served_over_http() {
    let store = store().await;
    let dir = temp_dir("env");
    let services: Api<orch_core::kinds::Service> = Api::namespaced(store.clone(), "default");
    let service = |name: &str, port: i32| -> orch_core::kinds::Service {
        serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name}, "ports": [{"port": port}]}}))
        .unwrap()
    };
    // One Service the agent lists when it starts, one it learns from its watch.
    let early = services.create(&service("early-api", 8080)).await.unwrap();
    let (agent, _) = agent(&store, "env-node", 5, &dir.join("state")).await;
    let late = services.create(&service("late-api", 9090)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let node: orch_core::kinds::Node = Api::all(store.clone()).get("env-node").await.unwrap();
    let port = node.status.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port;
    let addr = agent.log_address().unwrap();
    assert_eq!(i32::from(addr.port()), port);
    let script = "echo ip=$POD_IP node=$NODE arg=$0 early=$EARLY_API_SERVICE_HOST:$EARLY_API_SERVICE_PORT \
        late=$LATE_API_SERVICE_HOST:$LATE_API_SERVICE_PORT; exec sleep 300";
    let mut pod = sh_pod("envy", "env-node", script);
    let c = &mut pod.spec.containers[0];
    c.command.push("$(POD_IP)".into());
    c.env = serde_json::from_value(serde_json::json!([
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]))
    .unwrap();
    pods(&store).create(&pod).await.unwrap();
    let p = running(&store, "envy").await;
    let ip = p.status.pod_ip.clone().unwrap();
    assert!(ip.starts_with("127.126.5."), "{ip}");
    let ip_of = |s: &orch_core::kinds::Service| s.spec.cluster_ip.clone().unwrap_or_default();
    let want = format!("ip={ip} node=env-node arg={ip} early={}:8080 late={}:9090", ip_of(&early), ip_of(&late));
    let body = eventually("log line", LONG, || async {
        let r = http_get(addr, "/containerLogs/default/envy/main?tailLines=5").await;
        r.contains(&want).then_some(r)
    })
    .await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let missing = http_get(addr, "/containerLogs/default/nope/main").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    delete_and_wait(&store, "envy").await;
    agent.stop().await;
}

#[tokio::test]
async fn a_restarted_agent_adopts_its_containers_and_kills_orphans() {
    let store = store().await;
    let dir = temp_dir("restart");
    let state = dir.join("state");
    let (first, rt) = agent(&store, "re-node", 6, &state).await;
    pods(&store).create(&sh_pod("survivor", "re-node", "exec sleep 300")).await.unwrap();
    let before = running(&store, "survivor").await;
    // An orphan: a container of this node for a pod that does not exist.
    let orphan_cfg = ContainerConfig {
        pod: PodRef { namespace: "default".into(), name: "ghost".into(), uid: "ghost-uid".into() },
        node_name: "re-node".into(),
        name: "c".into(),
        image: "sleep".into(),
        args: vec!["300".into()],
        ..Default::default()
    };
    let orphan = rt.create(&orphan_cfg).await.unwrap();
    rt.start(&orphan).await.unwrap();
    let orphan_pid = rt.status(&orphan).await.unwrap().pid.unwrap();
    first.stop().await;
    drop(rt);

    let (second, rt2) = agent(&store, "re-node", 6, &state).await;
    eventually("orphan killed", LONG, || async { (!group_alive(orphan_pid)).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = running(&store, "survivor").await;
    let (b, a) = (&before.status.container_statuses[0], &after.status.container_statuses[0]);
    assert_eq!(a.container_id, b.container_id, "the running container was adopted, not replaced");
    assert_eq!(a.restart_count, 0);
    assert_eq!(after.status.pod_ip, before.status.pod_ip);
    assert_eq!(rt2.list(&Default::default()).await.unwrap().len(), 1);
    pods(&store).delete("survivor", &Default::default()).await.unwrap();
    eventually("pod gone", LONG, || async { get_pod(&store, "survivor").await.is_none().then_some(()) }).await;
    second.stop().await;
}
