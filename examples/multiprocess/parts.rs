//! Each part of the cluster as a process of its own, over HTTPS with its own token.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::auth::{RolePolicy, TokenFile};
use orch_api::server::{ApiServer, ServerConfig, TlsSource};
use orch_core::ObjectStore;
use orch_node::proxy::{ProxyConfig, ServiceProxy};
use orch_node::runtime::{ProcessConfig, ProcessRuntime};
use orch_node::{AgentConfig, NodeAgent};
use orch_tests::{ControlPlane, ControlPlaneConfig};

use super::Part;

pub type Error = Box<dyn std::error::Error>;

/// How long a leader's lease lasts: a replica takes over within about this long.
pub const LEASE: Duration = Duration::from_secs(3);

/// The cluster directory's CA certificate (the API server's self-signed one).
pub fn ca_path(dir: &Path) -> std::path::PathBuf {
    dir.join("pki").join("tls.crt")
}

/// A client of the API server as `who` (its token is `dir/tokens/<who>`).
pub fn client(dir: &Path, server: &str, who: &str) -> Result<Arc<dyn ObjectStore>, Error> {
    let token = std::fs::read_to_string(dir.join("tokens").join(who))
        .map_err(|e| format!("token of {who} in {}: {e}", dir.display()))?;
    let ca = std::fs::read(ca_path(dir)).map_err(|e| format!("CA certificate in {}: {e}", dir.display()))?;
    let config =
        ClientConfig::new(server).token(token.trim()).ca_pem(ca).watch_resume_timeout(Duration::from_secs(600));
    Ok(Arc::new(HttpClient::new(config)?))
}

#[cfg(feature = "etcd")]
async fn etcd_store(urls: &str) -> Result<Arc<dyn orch_store::KvStore>, Error> {
    let endpoints: Vec<&str> = urls.split(',').collect();
    Ok(Arc::new(orch_store::etcd::EtcdKv::connect(&endpoints, Default::default()).await?))
}

#[cfg(not(feature = "etcd"))]
async fn etcd_store(_urls: &str) -> Result<Arc<dyn orch_store::KvStore>, Error> {
    Err("this build has no etcd backend: run with `cargo run --features etcd --example multiprocess`".into())
}

async fn until_ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

pub async fn run(part: Part) -> Result<(), Error> {
    match part {
        Part::Up { .. } => Err("`up` is not a part".into()),
        Part::Apiserver { dir, listen, data_dir, etcd } => {
            use orch_core::runtime::{SystemClock, TokioSpawn};
            let kv: Arc<dyn orch_store::KvStore> = match (data_dir, etcd) {
                (Some(_), Some(_)) => return Err("choose --data-dir or --etcd, not both".into()),
                (Some(d), None) => Arc::new(orch_store::durable::DurableKv::open_default(d)?),
                (None, Some(urls)) => etcd_store(&urls).await?,
                (None, None) => Arc::new(orch_store::mem::MemKv::new()),
            };
            let registry = orch_store::Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
                .build()
                .await?;
            let tls = TlsSource::SelfSigned { dir: dir.join("pki"), extra_names: vec![] }.load()?;
            let tokens = TokenFile::load(&dir.join("tokens.csv"))?;
            let policy = RolePolicy::parse_yaml(&std::fs::read_to_string(dir.join("policy.yaml"))?)?;
            let config =
                ServerConfig::default().auth(Arc::new(tokens), Arc::new(policy)).audit_log(dir.join("audit.log"));
            let running = ApiServer::new(registry, config)?.bind(listen, Some(tls)).await?;
            println!("apiserver: serving {}", running.url());
            until_ctrl_c().await;
            running.shutdown().await;
            Ok(())
        }
        Part::Scheduler { dir, server, id } => {
            let store = client(&dir, &server, "scheduler")?;
            let config = ControlPlaneConfig::default().without_controllers().leader_election(id.clone(), LEASE);
            let cp = ControlPlane::components(store, config)?;
            println!("scheduler {id}: running (leads while it holds kube-system/orch-scheduler)");
            until_ctrl_c().await;
            cp.stop().await;
            Ok(())
        }
        Part::ControllerManager { dir, server, id } => {
            let store = client(&dir, &server, "controller-manager")?;
            let config = ControlPlaneConfig::default().without_scheduler().leader_election(id.clone(), LEASE);
            let cp = ControlPlane::components(store, config)?;
            println!("controller-manager {id}: running (leads while it holds kube-system/orch-controller-manager)");
            until_ctrl_c().await;
            cp.stop().await;
            Ok(())
        }
        Part::Node { dir, server, name, ip } => {
            let store = client(&dir, &server, &name)?;
            let runtime = ProcessRuntime::new(ProcessConfig::default().state_dir(dir.join("nodes").join(&name)))?;
            let agent = NodeAgent::new(AgentConfig::new(&name).node_ip(ip).log_port(Some(0)), store, Arc::new(runtime))
                .start()
                .await?;
            println!("node {name}: running on {ip}");
            until_ctrl_c().await;
            agent.stop().await;
            Ok(())
        }
        Part::Proxy { dir, server, node_ips } => {
            let store = client(&dir, &server, "proxy")?;
            let ips = node_ips.iter().map(|ip| std::net::IpAddr::V4(*ip));
            let handle = ServiceProxy::new(ProxyConfig::default().node_addresses(ips)).spawn(store);
            println!("proxy: serving Services on {node_ips:?}");
            until_ctrl_c().await;
            drop(handle);
            Ok(())
        }
    }
}
