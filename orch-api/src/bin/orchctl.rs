//! `orchctl`: the command-line client of an orch API server, reading the standard kubeconfig.

use std::sync::Arc;

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::{CliError, Connection, ResolvedContext};

fn connect(ctx: &ResolvedContext) -> Result<Connection, CliError> {
    let client = HttpClient::new(ClientConfig::from_context(ctx))
        .map_err(|e| CliError::Kubeconfig { message: format!("context for {}: {e}", ctx.server) })?;
    Ok(Connection::new(Arc::new(client.clone())).with_logs(Arc::new(client)))
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = runtime.block_on(async {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        orch_api::run(args, &connect, &mut out, &mut err).await
    });
    std::process::exit(code);
}
