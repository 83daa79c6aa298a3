//! The server over loopback: limits, errors, auth, node identities, subresources, discovery,
//! watch resume across a restart on a durable store, 410 after compaction, TLS.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::auth::{RolePolicy, TokenFile};
use orch_api::server::{ServerConfig, TlsSource};
use orch_core::kinds::{Deployment, Node, Pod};
use orch_core::store::{Api, ListParams, ObjectStore, WatchEvent, WatchParams};
use orch_core::{ObjectMeta, Patch, Resource, StoreError};
use orch_store::Registry;
use orch_store::testkit::object as kit;
use serde_json::{Value, json};

use crate::support::{TempDir, TestServer, raw};

fn auth_config() -> ServerConfig {
    let tokens = TokenFile::parse(
        "admin-token,admin,0,system:masters\nviewer-token,vera,1\nnode1-token,system:node:n1,2,system:nodes\n",
    )
    .unwrap();
    let policy = RolePolicy::parse_yaml(
        "roles:\n  - name: viewer\n    rules: [{verbs: [get, list, watch], resources: ['*']}]\nbindings:\n  - {role: viewer, users: [vera]}\n",
    )
    .unwrap();
    ServerConfig::default().auth(Arc::new(tokens), Arc::new(policy))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413_before_parsing_and_changes_nothing() {
    let server = TestServer::start(ServerConfig::default()).await;
    let big = vec![b'x'; 4 << 20];
    let (code, body) =
        raw(&server.url(), "POST", "/api/v1/namespaces/default/pods", &[("Content-Type", "application/json")], &big)
            .await;
    assert_eq!(code, 413, "{}", String::from_utf8_lossy(&body));
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status["kind"].as_str(), status["code"].as_u64()), (Some("Status"), Some(413)));
    let pods = server.store().list(&Pod::resource_type(), Some("default"), &ListParams::default()).await.unwrap();
    assert!(pods.items.is_empty());
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_naming_the_position() {
    let server = TestServer::start(ServerConfig::default()).await;
    let (code, body) = raw(
        &server.url(),
        "POST",
        "/api/v1/namespaces/default/pods",
        &[("Content-Type", "application/json")],
        b"{\"metadata\": {\"name\": \"p\",}}",
    )
    .await;
    assert_eq!(code, 400);
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert!(status["message"].as_str().unwrap().contains("line 1 column"), "{status}");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_status_objects_with_matching_codes() {
    let server = TestServer::start(ServerConfig::default()).await;
    let url = server.url();
    let cases: &[(&str, &str, &str, &[u8], u16)] = &[
        ("GET", "/api/v1/namespaces/default/pods/missing", "", b"", 404),
        ("GET", "/api/v1/namespaces/default/widgets", "", b"", 404),
        ("GET", "/api/v1/pods?limit=many", "", b"", 400),
        (
            "POST",
            "/api/v1/namespaces/default/pods",
            "application/json",
            br#"{"metadata":{"name":"Bad_Name"},"spec":{"containers":[]}}"#,
            422,
        ),
        ("PATCH", "/api/v1/namespaces/default/pods/x", "application/apply-patch+yaml", b"{}", 415),
        ("PUT", "/api/v1/pods", "application/json", b"{}", 405),
    ];
    for (method, path, ct, body, want) in cases {
        let headers: Vec<(&str, &str)> = if ct.is_empty() { vec![] } else { vec![("Content-Type", *ct)] };
        let (code, resp) = raw(&url, method, path, &headers, body).await;
        assert_eq!(code, *want, "{method} {path}: {}", String::from_utf8_lossy(&resp));
        let status: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!((status["kind"].as_str(), status["code"].as_u64()), (Some("Status"), Some(u64::from(*want))));
    }
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_credentials_are_401_and_unpermitted_verbs_403() {
    let server = TestServer::start(auth_config()).await;
    let rt = Pod::resource_type();
    let anonymous = server.store();
    let err = anonymous.list(&rt, Some("default"), &ListParams::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unauthorized { .. }), "{err:?}");
    let wrong = server.client_with_token("not-a-token");
    let err = wrong.list(&rt, Some("default"), &ListParams::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unauthorized { .. }), "{err:?}");

    let viewer = server.client_with_token("viewer-token");
    viewer.list(&rt, Some("default"), &ListParams::default()).await.expect("viewers may list");
    let pod = orch_core::DynamicObject::from_typed(&kit::pod("p")).unwrap();
    let err = viewer.create(&rt, pod.clone(), &Default::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden { .. }), "{err:?}");

    let admin = server.client_with_token("admin-token");
    let mut pod = pod;
    pod.metadata.namespace = Some("default".into());
    admin.create(&rt, pod, &Default::default()).await.expect("admins may create");
    let (code, _) = raw(&server.url(), "GET", "/healthz", &[], b"").await;
    assert_eq!(code, 200, "health needs no credentials");
    let (code, _) = raw(&server.url(), "GET", "/apis", &[], b"").await;
    assert_eq!(code, 401, "discovery does");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_identity_writes_only_its_node_lease_and_pods() {
    let server = TestServer::start(auth_config()).await;
    let admin: Api<Node> = Api::all(server.client_with_token("admin-token"));
    let node1: Api<Node> = Api::all(server.client_with_token("node1-token"));
    node1.create(&Node { metadata: ObjectMeta::named("n1"), ..Default::default() }).await.expect("own node");
    let err = node1.create(&Node { metadata: ObjectMeta::named("n2"), ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden { .. }), "{err:?}");
    admin.create(&Node { metadata: ObjectMeta::named("n2"), ..Default::default() }).await.unwrap();
    let status = Patch::Merge(json!({"status": {"phase": "Running"}}));
    node1.patch_status("n1", &status).await.expect("own node status");
    assert!(node1.patch_status("n2", &status).await.is_err());

    let admin_pods: Api<Pod> = Api::namespaced(server.client_with_token("admin-token"), "default");
    let node_pods: Api<Pod> = Api::namespaced(server.client_with_token("node1-token"), "default");
    for (name, node) in [("mine", "n1"), ("theirs", "n2")] {
        admin_pods.create(&kit::pod(name)).await.unwrap();
        admin_pods.bind(name, node).await.unwrap();
    }
    let pod_status = Patch::Merge(json!({"status": {"podIP": "127.64.0.5"}}));
    node_pods.patch_status("mine", &pod_status).await.expect("status of its own pod");
    let err = node_pods.patch_status("theirs", &pod_status).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden { .. }), "{err:?}");
    let err = node_pods.create(&kit::pod("new")).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden { .. }), "nodes do not create pods: {err:?}");
    assert_eq!(node_pods.list(&ListParams::default()).await.unwrap().items.len(), 2, "nodes read");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_after_the_server_restarts_on_a_durable_store() {
    let dir = TempDir::new("resume");
    let durable = Arc::new(orch_store::durable::DurableKv::open_default(&dir.0).expect("durable kv"));
    let registry = Registry::builder(
        durable.clone(),
        Arc::new(orch_core::runtime::SystemClock),
        Arc::new(orch_core::runtime::TokioSpawn::current()),
    )
    .build()
    .await
    .unwrap();
    let first = TestServer::over(registry, ServerConfig::default(), None).await;
    let addr = first.running.local_addr();
    let client =
        HttpClient::new(ClientConfig::new(first.url()).retries(2).watch_resume_timeout(Duration::from_secs(30)))
            .unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(client);
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let start = pods.create(&kit::pod("a")).await.unwrap().metadata.resource_version.unwrap();
    let mut watch = store
        .watch(&Pod::resource_type(), Some("default"), &WatchParams::default().from_version(start.clone()))
        .await
        .unwrap();
    pods.create(&kit::pod("b")).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap();
    assert_eq!(next.object().unwrap().metadata.name.as_deref(), Some("b"));

    // Restart: the same address, the same files.
    first.running.shutdown().await;
    durable.close();
    drop(first.registry);
    let registry = Registry::builder(
        Arc::new(orch_store::durable::DurableKv::open_default(&dir.0).expect("reopen")),
        Arc::new(orch_core::runtime::SystemClock),
        Arc::new(orch_core::runtime::TokioSpawn::current()),
    )
    .build()
    .await
    .unwrap();
    let server = orch_api::server::ApiServer::new(registry, ServerConfig::default()).unwrap();
    let second = server.bind(addr, None).await.expect("rebind the same port");
    for name in ["c", "d"] {
        pods.create(&kit::pod(name)).await.expect("write after restart");
    }
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let ev =
            tokio::time::timeout(Duration::from_secs(20), watch.next()).await.expect("event in time").expect("open");
        match ev {
            WatchEvent::Added(o) => seen.push(o.metadata.name.clone().unwrap()),
            WatchEvent::Bookmark { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["c", "d"], "resumed after b: nothing lost, nothing repeated");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_compacted_revision_is_gone() {
    let server = TestServer::start(ServerConfig::default()).await;
    let pods: Api<Pod> = Api::namespaced(server.store(), "default");
    let old = pods.create(&kit::pod("a")).await.unwrap().metadata.resource_version.unwrap();
    let latest = pods.create(&kit::pod("b")).await.unwrap().metadata.resource_version.unwrap();
    server.registry.kv().compact(latest.parse().unwrap()).await.unwrap();
    let params = WatchParams::default().from_version(old);
    match server.store().watch(&Pod::resource_type(), Some("default"), &params).await {
        Err(StoreError::Gone { .. }) => {}
        Ok(mut w) => {
            let ev = tokio::time::timeout(Duration::from_secs(10), w.next()).await.unwrap().unwrap();
            assert!(matches!(ev, WatchEvent::Error(StoreError::Gone { .. })), "{ev:?}");
        }
        Err(other) => panic!("expected Gone, got {other:?}"),
    }
    let url = "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1&timeoutSeconds=1";
    let (code, body) = raw(&server.url(), "GET", url, &[], b"").await;
    let text = String::from_utf8_lossy(&body);
    assert!(code == 410 || text.contains("\"code\":410"), "{code} {text}");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_subresource_reads_and_sets_replicas() {
    let server = TestServer::start(ServerConfig::default()).await;
    let deploys: Api<Deployment> = Api::namespaced(server.store(), "default");
    let manifest = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
        "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}"#;
    deploys.create(&serde_json::from_str(manifest).unwrap()).await.unwrap();
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    let (code, body) = raw(&server.url(), "GET", path, &[], b"").await;
    let scale: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((code, scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (200, Some("Scale"), Some(2)));
    assert_eq!(scale["status"]["selector"], "app=web");
    let patch = br#"{"spec":{"replicas":5}}"#;
    let (code, _) = raw(&server.url(), "PATCH", path, &[("Content-Type", "application/merge-patch+json")], patch).await;
    assert_eq!(code, 200);
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(5));
    let stale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": scale["metadata"]["resourceVersion"]},
        "spec": {"replicas": 1}});
    let (code, _) =
        raw(&server.url(), "PUT", path, &[("Content-Type", "application/json")], stale.to_string().as_bytes()).await;
    assert_eq!(code, 409, "a Scale at a stale version is a conflict");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_openapi_version_and_metrics_are_served() {
    let server = TestServer::start(ServerConfig::default()).await;
    let url = server.url();
    let get = |path: &'static str| {
        let url = url.clone();
        async move {
            let (code, body) = raw(&url, "GET", path, &[], b"").await;
            assert_eq!(code, 200, "{path}");
            body
        }
    };
    let v: Value = serde_json::from_slice(&get("/api").await).unwrap();
    assert_eq!(v["versions"][0], "v1");
    let v: Value = serde_json::from_slice(&get("/apis/apps/v1").await).unwrap();
    assert!(v["resources"].as_array().unwrap().iter().any(|r| r["name"] == "deployments/scale"));
    let v: Value = serde_json::from_slice(&get("/openapi/v3").await).unwrap();
    assert!(v["paths"]["api/v1"]["serverRelativeURL"].is_string());
    let v: Value = serde_json::from_slice(&get("/openapi/v3/apis/apps/v1").await).unwrap();
    let gvk = &v["components"]["schemas"]["io.orch.apps.v1.Deployment"]["x-kubernetes-group-version-kind"][0];
    assert_eq!((gvk["group"].as_str(), gvk["kind"].as_str()), (Some("apps"), Some("Deployment")));
    let v: Value = serde_json::from_slice(&get("/version").await).unwrap();
    assert!(v["gitVersion"].is_string());
    assert_eq!(get("/readyz").await, b"ok");
    let metrics = String::from_utf8(get("/metrics").await).unwrap();
    assert!(metrics.contains("orch_apiserver_requests_total"), "{metrics}");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_self_signed_certificate_is_trusted_through_its_ca_data() {
    let dir = TempDir::new("tls");
    let tls = TlsSource::SelfSigned { dir: dir.0.clone(), extra_names: vec![] }.load().unwrap();
    let ca = tls.cert_pem.clone();
    let registry = Registry::in_memory().await.unwrap();
    let server = TestServer::over(registry, ServerConfig::default(), Some(tls)).await;
    assert!(server.url().starts_with("https://"));
    let trusted = HttpClient::new(ClientConfig::new(server.url()).ca_pem(ca)).unwrap();
    trusted.version().await.expect("trusted");
    let untrusted = HttpClient::new(ClientConfig::new(server.url()).retries(0)).unwrap();
    let err = untrusted.version().await.unwrap_err();
    assert!(err.to_string().contains("cannot reach the API server"), "{err}");
    let insecure = HttpClient::new(ClientConfig::new(server.url()).insecure()).unwrap();
    insecure.version().await.expect("insecure skips verification");
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_requests_are_audited() {
    let dir = TempDir::new("audit");
    let log = dir.0.join("audit.log");
    let server = TestServer::start(auth_config().audit_log(&log)).await;
    let pods: Api<Pod> = Api::namespaced(server.client_with_token("admin-token"), "default");
    pods.create(&kit::pod("a")).await.unwrap();
    pods.list(&ListParams::default()).await.unwrap();
    pods.delete("a", &Default::default()).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let verbs: Vec<&str> = lines.iter().map(|l| l["verb"].as_str().unwrap()).collect();
    assert_eq!(verbs, ["create", "delete"], "reads are not audited");
    assert_eq!((lines[0]["user"].as_str(), lines[0]["code"].as_u64()), (Some("admin"), Some(201)));
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_off_on_a_non_loopback_address_is_refused() {
    let registry = Registry::in_memory().await.unwrap();
    let server = orch_api::server::ApiServer::new(registry, ServerConfig::default()).unwrap();
    let err = server.bind("0.0.0.0:0".parse().unwrap(), None).await.err().expect("refused");
    assert!(err.to_string().contains("without authentication"), "{err}");
}
