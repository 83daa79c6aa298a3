//! `up`: makes the cluster directory (certificate, tokens, policy), starts every part as a child
//! process, optionally runs the demo (with a scheduler leader failover), and stops it all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use orch_api::server::TlsSource;
use orch_core::kinds::{Deployment, Lease, Pod, Service};
use orch_core::store::{Api, DeleteOptions, ListParams, WriteOptions};
use orch_core::{KindRegistry, ObjectStore, Patch, manifest};
use orch_tests::wait_for;
use tokio::process::{Child, Command};

use super::demo_server;
use super::parts::{Error, client};

/// Writes `tokens/<who>` for every identity, the API server's `tokens.csv` and `policy.yaml`.
fn write_identities(dir: &Path, nodes: u8) -> Result<(), Error> {
    std::fs::create_dir_all(dir.join("tokens"))?;
    let mut csv = String::new();
    let mut who: Vec<(String, String)> = vec![
        ("admin".into(), "system:masters".into()),
        ("scheduler".into(), "orch:control-plane".into()),
        ("controller-manager".into(), "orch:control-plane".into()),
        ("proxy".into(), "orch:proxies".into()),
    ];
    who.extend((1..=nodes).map(|i| (format!("node-{i}"), "system:nodes".to_string())));
    for (name, group) in who {
        let t = orch_examples::random_token();
        std::fs::write(dir.join("tokens").join(&name), &t)?;
        let user = if group == "system:nodes" { format!("system:node:{name}") } else { name.clone() };
        csv.push_str(&format!("{t},{user},{name},\"{group}\"\n"));
    }
    std::fs::write(dir.join("tokens.csv"), csv)?;
    std::fs::write(
        dir.join("policy.yaml"),
        "roles:\n  - name: control-plane\n    rules: [{verbs: ['*'], resources: ['*']}]\n  - name: reader\n    rules: [{verbs: [get, list, watch], resources: ['*']}]\nbindings:\n  - {role: control-plane, groups: ['orch:control-plane']}\n  - {role: reader, groups: ['orch:proxies']}\n",
    )?;
    Ok(())
}

/// The children, killed when dropped.
struct Children(Vec<(String, Child)>);

impl Children {
    fn spawn(&mut self, dir: &Path, name: &str, args: &[String]) -> Result<(), Error> {
        let log = std::fs::File::create(dir.join("logs").join(format!("{name}.log")))?;
        let child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0) // Ctrl-C goes to `up`, which stops everything in order
            .kill_on_drop(true)
            .spawn()?;
        self.0.push((name.to_string(), child));
        Ok(())
    }

    async fn kill(&mut self, name: &str) {
        if let Some((_, c)) = self.0.iter_mut().find(|(n, _)| n == name) {
            let _ = c.kill().await;
        }
    }
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

pub async fn run(
    dir: &Path,
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    etcd: Option<String>,
    nodes: u8,
    demo: bool,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir.join("logs"))?;
    let dir = dir.canonicalize()?;
    write_identities(&dir, nodes)?;
    let ca = TlsSource::SelfSigned { dir: dir.join("pki"), extra_names: vec![] }.load()?.cert_pem;
    let d = s(dir.display());
    let server = format!("https://{listen}");
    let mut children = Children(Vec::new());

    let mut api_args = vec![s("apiserver"), s("--dir"), d.clone(), s("--listen"), s(listen)];
    if let Some(data) = &data_dir {
        api_args.extend([s("--data-dir"), s(data.display())]);
    }
    if let Some(urls) = &etcd {
        api_args.extend([s("--etcd"), urls.clone()]);
    }
    children.spawn(&dir, "apiserver", &api_args)?;
    let admin = client(&dir, &server, "admin")?;
    wait_for("the API server", Duration::from_secs(15), || {
        let admin = admin.clone();
        async move {
            admin
                .get(&<Pod as orch_core::Resource>::resource_type(), Some("default"), "-")
                .await
                .is_err_and(|e| e.http_status() == 404)
        }
    })
    .await?;
    println!("apiserver   {server} (logs in {d}/logs)");
    for i in 1..=2 {
        for part in ["scheduler", "controller-manager"] {
            children.spawn(
                &dir,
                &format!("{part}-{i}"),
                &[s(part), s("--dir"), d.clone(), s("--server"), server.clone(), s("--id"), format!("{part}-{i}")],
            )?;
        }
    }
    let ips: Vec<String> = (1..=nodes).map(|i| format!("127.1.0.{i}")).collect();
    for (i, ip) in ips.iter().enumerate() {
        let name = format!("node-{}", i + 1);
        children.spawn(
            &dir,
            &name,
            &[
                s("node"),
                s("--dir"),
                d.clone(),
                s("--server"),
                server.clone(),
                s("--name"),
                name.clone(),
                s("--ip"),
                ip.clone(),
            ],
        )?;
    }
    children.spawn(
        &dir,
        "proxy",
        &[s("proxy"), s("--dir"), d.clone(), s("--server"), server.clone(), s("--node-ips"), ips.join(",")],
    )?;
    let kubeconfig = dir.join("kubeconfig");
    let admin_token = std::fs::read_to_string(dir.join("tokens").join("admin"))?;
    std::fs::write(
        &kubeconfig,
        orch_api::Kubeconfig::single("orch", &server, Some(admin_token.trim()), Some(&ca)).to_yaml(),
    )?;
    println!(
        "started     2 schedulers, 2 controller managers, {nodes} node agents, 1 proxy; kubeconfig {}",
        kubeconfig.display()
    );

    let outcome = if demo {
        run_demo(&admin, &mut children).await
    } else {
        println!(
            "serving — `cargo run -p orch-api --bin orchctl -- --kubeconfig {} get nodes`; Ctrl-C stops",
            kubeconfig.display()
        );
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    };
    // Stop the workload first, so no container outlives its agent.
    let _ = Api::<Deployment>::namespaced(admin.clone(), "default").delete("hello", &DeleteOptions::default()).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let _ = wait_for("the demo's pods to stop", Duration::from_secs(30), || {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default()).await.is_ok_and(|l| l.items.is_empty()) }
    })
    .await;
    drop(children);
    println!("stopped");
    outcome
}

async fn ready(pods: &Api<Pod>) -> usize {
    orch_examples::ready_pods(pods, "app=hello").await.len()
}

async fn run_demo(admin: &Arc<dyn ObjectStore>, children: &mut Children) -> Result<(), Error> {
    let program = std::env::current_exe()?.display().to_string();
    for (info, obj) in manifest::parse_checked(&KindRegistry::with_builtins(), &super::manifests::app(&program))? {
        admin.create(&info.resource_type, obj, &WriteOptions::default()).await?;
    }
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    wait_for("3 ready replicas", Duration::from_secs(60), || async { ready(&pods).await == 3 }).await?;
    let svc = Api::<Service>::namespaced(admin.clone(), "default").get("hello").await?;
    let port = svc.spec.ports.first().and_then(|p| p.node_port).ok_or("no NodePort")?;
    for ip in ["127.1.0.1", "127.1.0.2", "127.1.0.3"] {
        println!(
            "demo        GET http://{ip}:{port}/ -> {}",
            demo_server::get_when_serving(&format!("{ip}:{port}")).await?
        );
    }
    // Kill the leading scheduler; the other replica takes over and schedules the next pod.
    let leases: Api<Lease> = Api::namespaced(admin.clone(), "kube-system");
    let leader = leases.get("orch-scheduler").await?.spec.holder_identity.ok_or("no scheduler leads")?;
    children.kill(&leader).await;
    println!("failover    killed the leading scheduler {leader}");
    Api::<Deployment>::namespaced(admin.clone(), "default")
        .patch("hello", &Patch::Merge(serde_json::json!({"spec": {"replicas": 4}})))
        .await?;
    wait_for("4 ready replicas after the failover", Duration::from_secs(60), || async { ready(&pods).await == 4 })
        .await?;
    let now = leases.get("orch-scheduler").await?.spec.holder_identity.unwrap_or_default();
    println!("failover    {now} leads now; scaled to 4 replicas, all ready");
    Ok(())
}
