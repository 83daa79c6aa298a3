//! UDP through the proxy: per-client flows, replies back to the client, idle flows ending.

use tokio::net::UdpSocket;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_reach_an_endpoint_replies_come_back_and_idle_flows_end() {
    let backend = UdpSocket::bind("127.64.10.1:5353").await.unwrap();
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = backend.recv_from(&mut buf).await else { return };
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = backend.send_to(&reply, from).await;
        }
    });
    let c = cluster(ProxyConfig::default().udp_idle_timeout(Duration::from_millis(200))).await;
    c.service("dns", json!({"clusterIP": "127.192.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}))
        .await;
    c.endpoints(
        "dns",
        json!([{"addresses": [{"ip": "127.64.10.1"}],
                               "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"}]}]),
    )
    .await;
    let client = UdpSocket::bind("127.0.10.1:0").await.unwrap();
    client.connect("127.192.0.10:53").await.unwrap();
    let reply = eventually("udp reply", || async {
        client.send(b"hello").await.ok()?;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_millis(200), client.recv(&mut buf)).await.ok()?.ok()?;
        Some(buf[..n].to_vec())
    })
    .await;
    assert_eq!(reply, b"echo:hello");
    // The client's flow is counted while it lives and ends once idle.
    let labels = "{namespace=\"default\",service=\"dns\",port=\"dns\",protocol=\"UDP\"}";
    let active = format!("orch_proxy_active_connections{labels} 0");
    eventually("idle flow ended", || async { c.metrics().contains(&active).then_some(()) }).await;
    // A new datagram opens a new flow.
    client.send(b"again").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"echo:again");
    echo.abort();
}
