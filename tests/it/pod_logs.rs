//! `pods/{name}/log` end to end: a real process run by a node agent (over HTTP, as an
//! out-of-process agent), its output read through the API server's proxy by the HTTP client and
//! by `orchctl logs`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_api::client::{ClientConfig, HttpClient};
use orch_api::{Connection, LogParams, PodLogs};
use orch_core::kinds::{Container, Pod};
use orch_core::store::Api;
use orch_core::{ObjectMeta, ObjectStore};
use orch_node::runtime::{ProcessConfig, ProcessRuntime};
use orch_node::{AgentConfig, NodeAgent};
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_log_is_proxied_from_the_node_agent_and_followed() {
    let mut cp = ControlPlane::start(ControlPlaneConfig::default().without_scheduler()).await.unwrap();
    let url = cp.serve_api().await.unwrap();
    let client = HttpClient::new(ClientConfig::new(url.clone())).unwrap();
    let remote: Arc<dyn ObjectStore> = Arc::new(client.clone());

    let processes = crate::procs::ProcessGuard::new("logs");
    let runtime = Arc::new(ProcessRuntime::new(ProcessConfig::default().state_dir(&processes.0)).unwrap());
    let agent = NodeAgent::new(
        AgentConfig::new("logs-node").node_ip("127.1.9.1".parse().unwrap()).log_port(Some(0)),
        remote.clone(),
        runtime,
    )
    .start()
    .await
    .unwrap();

    let mut pod = Pod { metadata: ObjectMeta::named("talker"), ..Default::default() };
    pod.spec.node_name = Some("logs-node".into());
    pod.spec.containers.push(Container {
        name: "main".into(),
        image: "/bin/sh".into(),
        command: vec!["/bin/sh".into(), "-c".into(), "echo hello from $HOSTNAME; sleep 1; echo later; sleep 60".into()],
        ..Default::default()
    });
    let pods: Api<Pod> = Api::namespaced(remote.clone(), "default");
    pods.create(&pod).await.unwrap();

    let text = |params: LogParams| {
        let client = client.clone();
        async move {
            match client.logs("default", "talker", &params).await {
                Ok(mut s) => {
                    let mut out = Vec::new();
                    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_millis(300), s.next()).await {
                        out.extend_from_slice(&chunk);
                    }
                    String::from_utf8_lossy(&out).into_owned()
                }
                Err(e) => format!("error: {e}"),
            }
        }
    };
    wait_for("the container's first line", Duration::from_secs(20), || async move {
        text(LogParams::default()).await.contains("hello from talker")
    })
    .await
    .unwrap();

    // Following: the stream stays open and delivers the later line.
    let mut follow = client.logs("default", "talker", &LogParams::default().follow()).await.unwrap();
    let mut seen = String::new();
    while !seen.contains("later") {
        let chunk =
            tokio::time::timeout(Duration::from_secs(20), follow.next()).await.expect("more output").expect("open");
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    drop(follow);

    // orchctl logs reads the same through its PodLogs connection.
    let connect =
        |_: &orch_api::ResolvedContext| Ok(Connection::new(remote.clone()).with_logs(Arc::new(client.clone())));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = vec!["--server".to_string(), url, "logs".into(), "talker".into()];
    let code = orch_api::run(args, &connect, &mut out, &mut err).await;
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert!(String::from_utf8_lossy(&out).contains("hello from talker"));

    // An unknown container is refused by the server, naming it.
    let missing = text(LogParams::default().container("nope")).await;
    assert!(missing.contains("nope"), "{missing}");

    pods.delete("talker", &Default::default()).await.unwrap();
    agent.stop().await;
    cp.stop().await;
}
