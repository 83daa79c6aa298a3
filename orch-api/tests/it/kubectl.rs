//! kubectl (where the machine has it) against the server: discovery, OpenAPI-backed validation
//! on apply, get, scale, patch and delete, over TLS with a token.

use crate::support::{TempDir, WEB_DEPLOYMENT, secure_server};
use std::process::Command;

/// The Deployment and a Service in front of it.
fn app() -> String {
    format!(
        "{WEB_DEPLOYMENT}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {{app: web}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_gets_scales_and_deletes() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("SKIPPED: no kubectl on this machine (orchctl and the Python client cover the same verbs)");
        return;
    }
    let dir = TempDir::new("kubectl");
    let (server, kubeconfig) = secure_server(&dir, "k-token").await;
    let manifest = dir.0.join("app.yaml");
    std::fs::write(&manifest, app()).unwrap();
    let home = dir.0.clone();
    let kubectl = move |args: Vec<String>| {
        let (kc, home) = (kubeconfig.clone(), home.clone());
        async move {
            let out = tokio::task::spawn_blocking(move || {
                Command::new("kubectl").arg("--kubeconfig").arg(&kc).args(&args).env("HOME", &home).output()
            })
            .await
            .unwrap()
            .expect("run kubectl");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let args = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();

    let (ok, out, err) = kubectl(args("get pods")).await;
    assert!(ok, "get pods: {out}{err}");
    let (ok, out, err) = kubectl(vec!["apply".into(), "-f".into(), manifest.display().to_string()]).await;
    assert!(ok, "apply: {out}{err}");
    assert!(out.contains("deployment.apps/web created") && out.contains("service/web created"), "{out}");
    let (ok, out, err) = kubectl(vec!["apply".into(), "-f".into(), manifest.display().to_string()]).await;
    assert!(ok && out.contains("deployment.apps/web unchanged"), "re-apply: {out}{err}");
    let (ok, out, err) = kubectl(args("get deploy web -o jsonpath={.spec.replicas}")).await;
    assert!(ok && out == "2", "get: {out}{err}");
    let (ok, out, err) = kubectl(args("scale deployment web --replicas=4")).await;
    assert!(ok, "scale: {out}{err}");
    let (ok, out, err) = kubectl(args("get svc web -o jsonpath={.spec.clusterIP}")).await;
    assert!(ok && out.starts_with("127."), "the Service got a ClusterIP: {out}{err}");
    let (ok, out, err) = kubectl(args("label deploy web tier=front")).await;
    assert!(ok, "label (a patch): {out}{err}");
    let (ok, out, err) = kubectl(args("get deploy -l tier=front -o name")).await;
    assert!(ok && out.trim() == "deployment.apps/web", "selector: {out}{err}");
    let (ok, out, err) = kubectl(args("api-resources --api-group=apps")).await;
    assert!(ok && out.contains("deployments"), "discovery: {out}{err}");
    // kubectl's default strict validation is done by the server, naming the unknown field.
    let typo = manifest.with_file_name("typo.yaml");
    std::fs::write(&typo, app().replace("image: busybox", "imagee: busybox").replace("name: web\n", "name: typo\n"))
        .unwrap();
    let (ok, out, err) = kubectl(vec!["apply".into(), "-f".into(), typo.display().to_string()]).await;
    assert!(!ok && err.contains("unknown field \"spec.template.spec.containers[0].imagee\""), "typo: {out}{err}");
    let (ok, out, err) = kubectl(args("delete deploy web")).await;
    assert!(ok, "delete: {out}{err}");
    server.running.shutdown().await;
}
