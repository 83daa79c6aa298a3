//! The `orchctl` binary against a live server over TLS with a token, reading a kubeconfig.

use std::process::{Command, Output};

use orch_api::Kubeconfig;

use crate::support::{TempDir, WEB_DEPLOYMENT, secure_server};

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

/// The Deployment and a bare pod.
fn app_manifest() -> String {
    format!(
        "{WEB_DEPLOYMENT}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchctl_binary_applies_gets_scales_and_deletes_against_a_live_server() {
    let dir = TempDir::new("orchctl");
    let (server, kubeconfig) = secure_server(&dir, "cli-token").await;
    let ca = std::fs::read(dir.0.join("pki").join("tls.crt")).unwrap();
    let manifest = dir.0.join("app.yaml");
    std::fs::write(&manifest, app_manifest()).unwrap();

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
