//! The official Kubernetes Python client (installed by `scripts/setup`) against the server, over
//! TLS with a bearer token and a kubeconfig, as a Kubernetes user would connect.

use std::process::Command;
use std::sync::Arc;

use orch_api::server::auth::{RolePolicy, TokenFile};
use orch_api::server::{ServerConfig, TlsSource};
use orch_store::Registry;

use crate::support::{TempDir, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_lists_creates_patches_watches_and_deletes() {
    let probe = Command::new("python3").args(["-c", "import kubernetes"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "python3 with the `kubernetes` package is needed: run scripts/setup (it installs it)"
    );
    let dir = TempDir::new("python");
    let tls = TlsSource::SelfSigned { dir: dir.0.join("pki"), extra_names: vec![] }.load().unwrap();
    let ca_path = dir.0.join("pki").join("tls.crt");
    let tokens = TokenFile::parse("py-token,py-admin,0,system:masters\n").unwrap();
    let config = ServerConfig::default().auth(Arc::new(tokens), Arc::new(RolePolicy::default()));
    let server = TestServer::over(Registry::in_memory().await.unwrap(), config, Some(tls)).await;
    let kubeconfig = dir.0.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: orch\nclusters:\n- name: orch\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: py\n  user:\n    token: py-token\ncontexts:\n- name: orch\n  context:\n    cluster: orch\n    user: py\n    namespace: default\n",
            server.url(),
            ca_path.display()
        ),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/k8s_client.py");
    let out = tokio::task::spawn_blocking(move || Command::new("python3").arg(script).arg(&kubeconfig).output())
        .await
        .unwrap()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python client failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    server.running.shutdown().await;
}
