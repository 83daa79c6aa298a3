//! The `orchctl` binary against a live server over TLS with a token, reading a kubeconfig.

use std::process::{Command, Output};
use std::sync::Arc;

use orch_api::Kubeconfig;
use orch_api::server::auth::{RolePolicy, TokenFile};
use orch_api::server::{ServerConfig, TlsSource};
use orch_store::Registry;

use crate::support::{TempDir, TestServer};

fn orchctl(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchctl"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run orchctl")
}

async fn run(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let (kc, args): (std::path::PathBuf, Vec<String>) =
        (kubeconfig.to_path_buf(), args.iter().map(|s| s.to_string()).collect());
    let out = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        orchctl(&kc, &refs)
    })
    .await
    .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

const MANIFEST: &str = "apiVersion: apps/v1
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
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
spec:
  containers:
  - name: c
    image: busybox
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchctl_binary_applies_gets_scales_and_deletes_against_a_live_server() {
    let dir = TempDir::new("orchctl");
    let tls = TlsSource::SelfSigned { dir: dir.0.join("pki"), extra_names: vec![] }.load().unwrap();
    let ca = tls.cert_pem.clone();
    let tokens = TokenFile::parse("cli-token,cli-admin,0,system:masters\n").unwrap();
    let config = ServerConfig::default().auth(Arc::new(tokens), Arc::new(RolePolicy::default()));
    let server = TestServer::over(Registry::in_memory().await.unwrap(), config, Some(tls)).await;
    let kubeconfig = dir.0.join("kubeconfig");
    let yaml = Kubeconfig::single("orch", &server.url(), Some("cli-token"), Some(&ca)).to_yaml();
    std::fs::write(&kubeconfig, yaml).unwrap();
    let manifest = dir.0.join("app.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();

    let (ok, out, err) = run(&kubeconfig, &["apply", "-f", manifest.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("deployment.apps/web created") && out.contains("pod/solo created"), "{out}");
    let (ok, out, _) = run(&kubeconfig, &["apply", "-f", manifest.to_str().unwrap()]).await;
    assert!(ok && out.contains("deployment.apps/web unchanged"), "{out}");

    let (ok, out, err) = run(&kubeconfig, &["get", "pods"]).await;
    assert!(ok, "{err}");
    let header: Vec<&str> = out.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert!(out.contains("solo"), "{out}");

    let (ok, out, err) = run(&kubeconfig, &["scale", "deployment/web", "--replicas=4"]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&kubeconfig, &["get", "deploy", "web", "-o", "json"]).await;
    let deploy: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && deploy["spec"]["replicas"] == 4, "{out}");

    let (ok, _, err) = run(&kubeconfig, &["get", "pod", "ghost"]).await;
    assert!(!ok && err.contains("NotFound") && err.contains("ghost"), "{err}");
    let (ok, out, err) = run(&kubeconfig, &["delete", "pod", "solo", "--grace-period=0"]).await;
    assert!(ok, "{out}{err}");

    // A bad manifest names the file and document, and changes nothing.
    let bad = dir.0.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: [oops\n").unwrap();
    let (ok, _, err) = run(&kubeconfig, &["apply", "-f", bad.to_str().unwrap()]).await;
    assert!(!ok && err.contains("bad.yaml") && err.contains("document 1"), "{err}");
    let (_, out, _) = run(&kubeconfig, &["get", "pods", "-o", "name"]).await;
    assert!(!out.contains("pod/a"), "nothing applied: {out}");

    // A wrong token is refused; a stopped server is reported as unreachable.
    let wrong = dir.0.join("wrong");
    std::fs::write(&wrong, Kubeconfig::single("orch", &server.url(), Some("nope"), Some(&ca)).to_yaml()).unwrap();
    let (ok, _, err) = run(&wrong, &["get", "pods"]).await;
    assert!(!ok && err.contains("Unauthorized"), "{err}");
    let url = server.url();
    server.running.shutdown().await;
    let (ok, _, err) = run(&kubeconfig, &["get", "pods", "--request-timeout=5s"]).await;
    assert!(!ok && err.contains("cannot reach the API server") && err.contains(&url), "{err}");
}
