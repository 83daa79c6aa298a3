//! The all-in-one cluster: every block of orch in one process, running a real application.
//!
//! `cargo run --example cluster` starts the store (in memory; `--data-dir DIR` for the durable
//! store, `--etcd URL` for etcd with `--features etcd`), the API server on 127.0.0.1:6443
//! (`--listen ADDR`, TLS with a self-signed certificate and a bearer token), the scheduler, the
//! controller manager, three node agents with the process runtime and the service proxy. It
//! applies a Deployment of three replicas of a small HTTP server (this same program) and a
//! NodePort Service, sends requests through the Service showing which replica answers, deletes
//! a pod and shows it replaced, then keeps serving until Ctrl-C with `orchctl` and kubectl
//! usable against it through the kubeconfig it writes. `--demo` exits after the demo (0 when
//! every step succeeded).

mod demo_server;
mod manifests;
mod steps;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

/// Command line of the cluster example.
#[derive(Parser, Debug)]
#[command(about = "orch: a whole cluster in one process")]
pub struct Args {
    /// Where the API server listens.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Keep the store on disk here (the durable store); in memory when absent.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use this etcd cluster (comma-separated URLs) as the store; needs `--features etcd`.
    #[arg(long)]
    pub etcd: Option<String>,
    /// Where to write the kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Exit after the demo (0 if every step succeeded) instead of serving until Ctrl-C.
    #[arg(long)]
    pub demo: bool,
}

#[tokio::main]
async fn main() {
    demo_server::serve_if_demo_pod().await;
    let args = Args::parse();
    let started = Instant::now();
    match steps::run(&args, started).await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("\nerror: {e}");
            std::process::exit(1);
        }
    }
}
