//! Service proxy tests over real loopback sockets: backends the tests bind on 127.64.x.y, a
//! proxy driven by an in-memory store, clients on 127.x addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Endpoints, Service};
use orch_core::store::{Api, ObjectStore};
use orch_node::proxy::{ProxyConfig, ProxyHandle, ServiceProxy};
use orch_store::Registry;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

mod bulk;
mod relist;
mod udp;

/// Waits (polling) until `f` yields a value; fails the test after a generous deadline.
async fn eventually<T, Fut: Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> Fut) -> T {
    for _ in 0..1000 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting for {what}");
}

/// A backend that greets every connection with its name and a newline, then echoes.
struct IdServer {
    task: JoinHandle<()>,
}

impl Drop for IdServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn id_server(addr: &str) -> IdServer {
    let listener = TcpListener::bind(addr).await.unwrap();
    let name = addr.to_string();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { continue };
            let name = name.clone();
            tokio::spawn(async move {
                if s.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                    return;
                }
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    IdServer { task }
}

async fn read_line(s: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await {
            Ok(Ok(1)) if b[0] == b'\n' => return String::from_utf8(out).ok(),
            Ok(Ok(1)) => out.push(b[0]),
            _ => return None,
        }
    }
}

/// Connects (from `from`, if given) and returns the open stream and the backend's name.
async fn connect_from(addr: &str, from: Option<&str>) -> Option<(TcpStream, String)> {
    let addr: SocketAddr = addr.parse().unwrap();
    let sock = TcpSocket::new_v4().ok()?;
    if let Some(f) = from {
        sock.bind(format!("{f}:0").parse().unwrap()).ok()?;
    }
    let mut s = tokio::time::timeout(Duration::from_secs(5), sock.connect(addr)).await.ok()?.ok()?;
    let name = read_line(&mut s).await?;
    Some((s, name))
}

async fn who(addr: &str) -> Option<String> {
    connect_from(addr, None).await.map(|(_, n)| n)
}

struct Cluster {
    store: Arc<dyn ObjectStore>,
    proxy: ProxyHandle,
}

async fn cluster(config: ProxyConfig) -> Cluster {
    let store: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.unwrap());
    let proxy = ServiceProxy::new(config).spawn(store.clone());
    Cluster { store, proxy }
}

impl Cluster {
    async fn service(&self, name: &str, spec: Value) -> Service {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap();
        Api::<Service>::namespaced(self.store.clone(), "default").create(&svc).await.unwrap()
    }

    /// Creates or replaces the Endpoints of `name`.
    async fn endpoints(&self, name: &str, subsets: Value) {
        let api = Api::<Endpoints>::namespaced(self.store.clone(), "default");
        let mut ep: Endpoints =
            serde_json::from_value(json!({"metadata": {"name": name}, "subsets": subsets})).unwrap();
        match api.get_opt(name).await.unwrap() {
            Some(old) => {
                ep.metadata = old.metadata;
                api.update(&ep).await.unwrap();
            }
            None => {
                api.create(&ep).await.unwrap();
            }
        }
    }

    fn metrics(&self) -> String {
        self.proxy.proxy().metrics_text()
    }
}

fn ready(ips: &[&str], port: u16) -> Value {
    let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
    json!([{"addresses": addresses, "ports": [{"port": port}]}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_spreads_connections_over_three_endpoints() {
    let backends = ["127.64.1.1:8080", "127.64.1.2:8080", "127.64.1.3:8080"];
    let mut servers = Vec::new();
    for b in backends {
        servers.push(id_server(b).await);
    }
    let c = cluster(ProxyConfig::default()).await;
    c.service("web", json!({"clusterIP": "127.192.0.1", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    c.endpoints("web", ready(&["127.64.1.1", "127.64.1.2", "127.64.1.3"], 8080)).await;
    eventually("all three endpoints served", || async {
        let seen: BTreeSet<String> = futures_seq(3, || who("127.192.0.1:80")).await.into_iter().flatten().collect();
        (seen.len() == 3).then_some(())
    })
    .await;
    // Once in force, every run of three connections visits each endpoint once.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..9 {
        *counts.entry(who("127.192.0.1:80").await.unwrap()).or_default() += 1;
    }
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), vec![3, 3, 3], "{counts:?}");
    assert!(c.metrics().contains("orch_proxy_bytes_out_total{namespace=\"default\",service=\"web\""));
}

async fn futures_seq<T, Fut: Future<Output = T>>(n: usize, mut f: impl FnMut() -> Fut) -> Vec<T> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(f().await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_endpoint_loses_its_connections_and_new_ones_avoid_it() {
    let _s1 = id_server("127.64.2.1:8080").await;
    let _s2 = id_server("127.64.2.2:8080").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service("web", json!({"clusterIP": "127.192.0.2", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    c.endpoints("web", ready(&["127.64.2.1", "127.64.2.2"], 8080)).await;
    // One open connection to each endpoint.
    let mut open: BTreeMap<String, TcpStream> = BTreeMap::new();
    for _ in 0..1000 {
        if let Some((s, n)) = connect_from("127.192.0.2:80", None).await {
            open.insert(n, s);
        }
        if open.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open.len(), 2, "a connection to each endpoint");
    c.endpoints("web", ready(&["127.64.2.1"], 8080)).await;
    // The connection to the removed endpoint is closed by the proxy.
    let mut gone = open.remove("127.64.2.2:8080").unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(10), gone.read(&mut buf)).await.expect("closed");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    // The connection to the endpoint that stays still works.
    let mut kept = open.remove("127.64.2.1:8080").unwrap();
    kept.write_all(b"ping").await.unwrap();
    kept.read_exact(&mut buf[..4]).await.unwrap();
    assert_eq!(&buf[..4], b"ping");
    for _ in 0..6 {
        assert_eq!(who("127.192.0.2:80").await.as_deref(), Some("127.64.2.1:8080"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_endpoint_receives_traffic() {
    let _s1 = id_server("127.64.3.1:8080").await;
    let _s2 = id_server("127.64.3.2:8080").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service("web", json!({"clusterIP": "127.192.0.3", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    c.endpoints("web", ready(&["127.64.3.1"], 8080)).await;
    eventually("first endpoint", || async { who("127.192.0.3:80").await.filter(|n| n == "127.64.3.1:8080") }).await;
    c.endpoints("web", ready(&["127.64.3.1", "127.64.3.2"], 8080)).await;
    eventually("new endpoint", || async { who("127.192.0.3:80").await.filter(|n| n == "127.64.3.2:8080") }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoints_closes_connections_promptly() {
    let c = cluster(ProxyConfig::default()).await;
    c.service("web", json!({"clusterIP": "127.192.0.4", "ports": [{"port": 80}]})).await;
    let refused = eventually("frontend bound and refusing", || async {
        let mut s = TcpStream::connect("127.192.0.4:80").await.ok()?;
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await.ok()?;
        matches!(r, Ok(0) | Err(_)).then_some(())
    })
    .await;
    assert_eq!(refused, ());
    assert!(
        c.metrics()
            .contains("orch_proxy_refused_total{namespace=\"default\",service=\"web\",port=\"\",protocol=\"TCP\"}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_port_is_served_on_every_node_address() {
    let _s = id_server("127.64.5.1:8080").await;
    let config =
        ProxyConfig::default().node_address("127.1.5.1".parse().unwrap()).node_address("127.1.5.2".parse().unwrap());
    let c = cluster(config).await;
    c.service(
        "web",
        json!({"type": "NodePort", "clusterIP": "127.192.0.5",
                            "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30005}]}),
    )
    .await;
    c.endpoints("web", ready(&["127.64.5.1"], 8080)).await;
    for addr in ["127.1.5.1:30005", "127.1.5.2:30005", "127.192.0.5:80"] {
        let name = eventually(addr, || who(addr)).await;
        assert_eq!(name, "127.64.5.1:8080");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_ingress_address_is_served() {
    let _s = id_server("127.64.6.1:8080").await;
    let c = cluster(ProxyConfig::default()).await;
    let mut svc = c
        .service(
            "web",
            json!({"type": "LoadBalancer", "clusterIP": "127.192.0.6",
                               "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30006}]}),
        )
        .await;
    c.endpoints("web", ready(&["127.64.6.1"], 8080)).await;
    svc.status = Some(serde_json::from_value(json!({"loadBalancer": {"ingress": [{"ip": "127.240.6.1"}]}})).unwrap());
    Api::<Service>::namespaced(c.store.clone(), "default").update_status(&svc).await.unwrap();
    let name = eventually("ingress address", || who("127.240.6.1:80")).await;
    assert_eq!(name, "127.64.6.1:8080");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_affinity_keeps_each_client_on_one_endpoint() {
    let _s1 = id_server("127.64.7.1:8080").await;
    let _s2 = id_server("127.64.7.2:8080").await;
    let _s3 = id_server("127.64.7.3:8080").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service(
        "web",
        json!({"clusterIP": "127.192.0.7", "sessionAffinity": "ClientIP",
                            "ports": [{"port": 80, "targetPort": 8080}]}),
    )
    .await;
    c.endpoints("web", ready(&["127.64.7.1", "127.64.7.2", "127.64.7.3"], 8080)).await;
    eventually("three endpoints", || async {
        c.proxy.proxy().backend().rules().first().filter(|r| r.backends.len() == 3).map(|_| ())
    })
    .await;
    let mut chosen = BTreeSet::new();
    for client in ["127.0.7.1", "127.0.7.2", "127.0.7.3"] {
        let first = connect_from("127.192.0.7:80", Some(client)).await.unwrap().1;
        for _ in 0..5 {
            assert_eq!(connect_from("127.192.0.7:80", Some(client)).await.unwrap().1, first, "client {client}");
        }
        chosen.insert(first);
    }
    // Distinct clients are still spread round-robin.
    assert_eq!(chosen.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_fd_bound_are_refused_and_counted() {
    let _s = id_server("127.64.8.1:8080").await;
    // Two descriptors per connection: room for two connections.
    let c = cluster(ProxyConfig::default().max_fds(4)).await;
    c.service("web", json!({"clusterIP": "127.192.0.8", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    c.endpoints("web", ready(&["127.64.8.1"], 8080)).await;
    // Only once the endpoint is programmed: an earlier attempt would be refused (and counted)
    // for lack of endpoints.
    eventually("the endpoint", || async {
        c.proxy.proxy().backend().rules().first().filter(|r| r.backends.len() == 1).map(|_| ())
    })
    .await;
    let a = eventually("first connection", || connect_from("127.192.0.8:80", None)).await;
    let b = connect_from("127.192.0.8:80", None).await.expect("second connection fits");
    assert!(connect_from("127.192.0.8:80", None).await.is_none(), "third connection refused");
    assert!(
        c.metrics()
            .contains("orch_proxy_refused_total{namespace=\"default\",service=\"web\",port=\"\",protocol=\"TCP\"} 1")
    );
    drop((a, b));
    // Descriptors come back when connections end.
    eventually("room again", || connect_from("127.192.0.8:80", None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_target_port_resolves_through_the_endpoints_port_name() {
    let _s = id_server("127.64.9.1:8181").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service(
        "web",
        json!({"clusterIP": "127.192.0.9", "ports": [
        {"name": "http", "port": 80, "targetPort": "web"},
        {"name": "admin", "port": 81, "targetPort": "admin"}]}),
    )
    .await;
    // As the Endpoints controller writes it: the container port "web" resolved to 8181 under
    // the service port's name.
    c.endpoints(
        "web",
        json!([{"addresses": [{"ip": "127.64.9.1"}],
                               "ports": [{"name": "admin", "port": 9999}, {"name": "http", "port": 8181}]}]),
    )
    .await;
    assert_eq!(eventually("named port", || who("127.192.0.9:80")).await, "127.64.9.1:8181");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_service_stops_being_served() {
    let _s = id_server("127.64.11.1:8080").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service("web", json!({"clusterIP": "127.192.0.11", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    c.endpoints("web", ready(&["127.64.11.1"], 8080)).await;
    eventually("served", || who("127.192.0.11:80")).await;
    Api::<Service>::namespaced(c.store.clone(), "default").delete("web", &Default::default()).await.unwrap();
    eventually("frontend closed", || async { TcpStream::connect("127.192.0.11:80").await.is_err().then_some(()) })
        .await;
    assert!(c.proxy.proxy().backend().rules().is_empty());
}
