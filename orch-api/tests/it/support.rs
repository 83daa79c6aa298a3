//! Starting a real server on loopback for a test, and clients for it.

use std::sync::Arc;

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, RunningServer, ServerConfig, ServerTls};
use orch_core::store::ObjectStore;
use orch_store::Registry;

/// A server over a fresh in-memory registry.
pub struct TestServer {
    pub running: RunningServer,
    pub registry: Registry,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> Self {
        let registry = Registry::in_memory().await.expect("registry");
        Self::over(registry, config, None).await
    }

    pub async fn over(registry: Registry, config: ServerConfig, tls: Option<ServerTls>) -> Self {
        let server = ApiServer::new(registry.clone(), config).expect("server");
        let running = server.bind("127.0.0.1:0".parse().unwrap(), tls).await.expect("bind loopback");
        TestServer { running, registry }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// A client with few retries, so failures show quickly.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(self.url()).retries(2)
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.client_config()).expect("client")
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(self.client())
    }

    pub fn client_with_token(&self, token: &str) -> Arc<dyn ObjectStore> {
        Arc::new(HttpClient::new(self.client_config().token(token)).expect("client"))
    }
}

/// A raw HTTP/1.1 exchange over loopback (for what the typed client never sends): returns the
/// status code and body.
pub async fn raw(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream.write_all(body).await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let code: u16 = text.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status line");
    let body_start = text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(text.len());
    let mut body = out[body_start..].to_vec();
    if text[..body_start].to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (code, body)
}

/// The body of a chunked HTTP/1.1 response, its chunks joined.
pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..pos]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A unique temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("orch-api-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Deployment `web` of two busybox replicas serving on 8080, as a manifest.
pub const WEB_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox
        ports:
        - containerPort: 8080
";

/// A server over TLS (a self-signed certificate in `dir`) that knows one admin `token`, and a
/// kubeconfig for it (with the certificate as `certificate-authority-data`) at `dir/kubeconfig`.
pub async fn secure_server(dir: &TempDir, token: &str) -> (TestServer, std::path::PathBuf) {
    use orch_api::server::auth::{RolePolicy, TokenFile};
    let tls = orch_api::server::TlsSource::SelfSigned { dir: dir.0.join("pki"), extra_names: vec![] }.load().unwrap();
    let ca = tls.cert_pem.clone();
    let tokens = TokenFile::parse(&format!("{token},admin,0,system:masters\n")).unwrap();
    let config = ServerConfig::default().auth(Arc::new(tokens), Arc::new(RolePolicy::default()));
    let server = TestServer::over(Registry::in_memory().await.unwrap(), config, Some(tls)).await;
    let kubeconfig = dir.0.join("kubeconfig");
    let yaml = orch_api::Kubeconfig::single("orch", &server.url(), Some(token), Some(&ca)).to_yaml();
    std::fs::write(&kubeconfig, yaml).unwrap();
    (server, kubeconfig)
}
