//! The multi-process cluster: the API server, schedulers, controller managers, node agents and
//! the service proxy as separate processes, talking over HTTPS with bearer tokens.
//!
//! `cargo run --example multiprocess -- up` starts them all (two scheduler and two controller
//! manager replicas behind leader election, three node agents, one proxy) from this one program
//! and serves until Ctrl-C; `up --demo` runs the demo application through them and exits.
//! Each part runs alone too (`apiserver`, `scheduler`, `controller-manager`, `node`, `proxy`),
//! pointed at a cluster directory holding the CA certificate and the tokens, which is how a user
//! who outgrows one machine runs it: the API server with `--etcd URL` on a real etcd cluster,
//! agents on other machines with their real node addresses.

#[path = "../cluster/demo_server.rs"]
mod demo_server;
#[path = "../cluster/manifests.rs"]
mod manifests;
mod parts;
mod up;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The command line.
#[derive(Parser, Debug)]
#[command(about = "orch as separate processes")]
struct Cli {
    #[command(subcommand)]
    command: Part,
}

/// What this process runs.
#[derive(Subcommand, Debug)]
pub enum Part {
    /// Everything, as child processes of this one.
    Up {
        /// The cluster directory (certificates, tokens, kubeconfig, logs).
        #[arg(long, default_value = "orch-cluster")]
        dir: PathBuf,
        /// Where the API server listens.
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: SocketAddr,
        /// Store the API server keeps on disk here (durable store) instead of in memory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Use this etcd cluster (comma-separated URLs) as the store; needs `--features etcd`.
        #[arg(long)]
        etcd: Option<String>,
        /// Node agents to start.
        #[arg(long, default_value_t = 3)]
        nodes: u8,
        /// Run the demo through the cluster, then stop it and exit.
        #[arg(long)]
        demo: bool,
    },
    /// The API server over the store.
    Apiserver {
        /// The cluster directory.
        #[arg(long)]
        dir: PathBuf,
        /// Where to listen.
        #[arg(long)]
        listen: SocketAddr,
        /// Durable store directory (else in memory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// etcd cluster URLs, comma-separated (needs `--features etcd`).
        #[arg(long)]
        etcd: Option<String>,
    },
    /// A scheduler replica (leader-elected).
    Scheduler {
        /// The cluster directory.
        #[arg(long)]
        dir: PathBuf,
        /// The API server URL.
        #[arg(long)]
        server: String,
        /// This replica's identity.
        #[arg(long)]
        id: String,
    },
    /// A controller manager replica (leader-elected).
    ControllerManager {
        /// The cluster directory.
        #[arg(long)]
        dir: PathBuf,
        /// The API server URL.
        #[arg(long)]
        server: String,
        /// This replica's identity.
        #[arg(long)]
        id: String,
    },
    /// A node agent with the process runtime.
    Node {
        /// The cluster directory.
        #[arg(long)]
        dir: PathBuf,
        /// The API server URL.
        #[arg(long)]
        server: String,
        /// The node's name (its token is `tokens/<name>`).
        #[arg(long)]
        name: String,
        /// The node's address.
        #[arg(long)]
        ip: Ipv4Addr,
    },
    /// The service proxy for this host's node addresses.
    Proxy {
        /// The cluster directory.
        #[arg(long)]
        dir: PathBuf,
        /// The API server URL.
        #[arg(long)]
        server: String,
        /// The node addresses served on this host.
        #[arg(long, value_delimiter = ',')]
        node_ips: Vec<Ipv4Addr>,
    },
}

#[tokio::main]
async fn main() {
    demo_server::serve_if_demo_pod().await;
    let cli = Cli::parse();
    let result = match cli.command {
        Part::Up { dir, listen, data_dir, etcd, nodes, demo } => {
            up::run(&dir, listen, data_dir, etcd, nodes, demo).await
        }
        part => parts::run(part).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
