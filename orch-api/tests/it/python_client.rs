//! The official Kubernetes Python client (installed by `scripts/setup`) against the server, over
//! TLS with a bearer token and a kubeconfig, as a Kubernetes user would connect.

use std::process::Command;

use crate::support::{TempDir, secure_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_lists_creates_patches_watches_and_deletes() {
    let probe = Command::new("python3").args(["-c", "import kubernetes"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "python3 with the `kubernetes` package is needed: run scripts/setup (it installs it)"
    );
    let dir = TempDir::new("python");
    let (server, kubeconfig) = secure_server(&dir, "py-token").await;
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
