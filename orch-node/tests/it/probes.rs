//! HTTP and TCP probes against a server in the test, with named ports.

use std::time::Duration;

use orch_core::kinds::{ContainerPort, HttpGetAction, IntOrString, Probe, TcpSocketAction};
use orch_node::probe::{ProbeTarget, run_probe};
use orch_node::runtime::{ContainerId, FakeRuntime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `200` on `/ok` and `500` elsewhere; returns the port.
async fn server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let code = if req.starts_with("GET /ok ") { "200 OK" } else { "500 Internal Server Error" };
                let _ = s.write_all(format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn http_and_tcp_probes_resolve_named_ports_and_judge_the_answer() {
    let port = server().await;
    let target = ProbeTarget {
        pod_ip: "127.0.0.1".into(),
        ports: vec![ContainerPort { name: Some("web".into()), container_port: i32::from(port), ..Default::default() }],
    };
    let rt = FakeRuntime::new(Default::default());
    let id = ContainerId("none".into());
    let http = |path: &str| Probe {
        http_get: Some(HttpGetAction {
            path: Some(path.into()),
            port: IntOrString::String("web".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let t = Duration::from_secs(2);
    assert!(run_probe(&http("/ok"), &target, &rt, &id, t).await);
    assert!(!run_probe(&http("/broken"), &target, &rt, &id, t).await);
    let tcp =
        |port: IntOrString| Probe { tcp_socket: Some(TcpSocketAction { port, host: None }), ..Default::default() };
    assert!(run_probe(&tcp(IntOrString::String("web".into())), &target, &rt, &id, t).await);
    assert!(!run_probe(&tcp(IntOrString::String("nope".into())), &target, &rt, &id, t).await);
    // A port nothing listens on (bind one and drop it to find a free one).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(!run_probe(&tcp(IntOrString::Int(i32::from(free))), &target, &rt, &id, t).await);
}
