//! `run`: parse the arguments, resolve the kubeconfig context, connect through the caller's function, dispatch the verb.

use std::io::Write;
use std::sync::Arc;

use clap::Parser;
use clap::error::ErrorKind;
use orch_core::{KindRegistry, ObjectStore};

use super::args::{Cli, Command, RolloutCommand};
use super::environment::Environment;
use super::errors::CliError;
use super::kubeconfig::{self, ResolvedContext};
use super::session::Session;
use super::{api_resources, apply, config, delete, describe, duration, get, pod_logs, rollout, scale};
use crate::logs::PodLogs;

/// What a command talks to: the object store, optionally a pod-log reader, and the kinds the
/// server serves (the built-ins unless the connection says otherwise).
#[derive(Clone)]
pub struct Connection {
    /// The object store (the HTTP client, or an in-process `Registry`).
    pub store: Arc<dyn ObjectStore>,
    /// Pod logs; `orchctl logs` fails with [`CliError::NoLogs`] without it.
    pub logs: Option<Arc<dyn PodLogs>>,
    /// The kinds commands can name (custom kinds included).
    pub kinds: KindRegistry,
}

impl Connection {
    /// A connection to `store` with the built-in kinds and no log reader.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Connection { store, logs: None, kinds: KindRegistry::with_builtins() }
    }
    /// Adds a pod-log reader.
    pub fn with_logs(mut self, logs: Arc<dyn PodLogs>) -> Self {
        self.logs = Some(logs);
        self
    }
    /// Replaces the kinds commands can name (for clusters with custom kinds).
    pub fn with_kinds(mut self, kinds: KindRegistry) -> Self {
        self.kinds = kinds;
        self
    }
}

/// The function that turns a resolved context into a connection (it may borrow from its caller).
pub type Connect<'a> = dyn Fn(&ResolvedContext) -> Result<Connection, CliError> + Sync + 'a;

/// Runs `orchctl` with `args` (without the program name) in the real process environment
/// (`KUBECONFIG`, `HOME`, whether stdout is a terminal, stdin). Output goes to `out`, errors
/// to `err`; returns the exit code (0 on success, 1 on any error).
pub async fn run(
    args: Vec<String>,
    connect: &Connect<'_>,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> i32 {
    run_with(args, &Environment::from_process(), connect, out, err).await
}

/// [`run`] with an explicit [`Environment`] (tests and embedding programs).
pub async fn run_with(
    args: Vec<String>,
    env: &Environment,
    connect: &Connect<'_>,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> i32 {
    let cli = match Cli::try_parse_from(std::iter::once("orchctl".to_owned()).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            // Help, version, and a bare verb group (`orchctl`, `orchctl rollout`) print to
            // stdout and succeed, as with kubectl; real usage errors go to stderr and fail.
            let is_help = !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
            let sink: &mut dyn Write = if is_help { out } else { err };
            let _ = write!(sink, "{}", e.render());
            return if is_help { 0 } else { 1 };
        }
    };
    match execute(cli, env, connect, out, err).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

async fn execute(
    cli: Cli,
    env: &Environment,
    connect: &Connect<'_>,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    if let Command::Config(c) = &cli.command {
        return config::run(c, &cli.global, env, out);
    }
    if let Command::Version = cli.command {
        writeln!(out, "Client Version: v{}", env!("CARGO_PKG_VERSION"))?;
        if let Ok(ctx) = kubeconfig::resolve(&cli.global, env) {
            writeln!(out, "Server: {}", ctx.server)?;
        }
        return Ok(());
    }
    let ctx = kubeconfig::resolve(&cli.global, env)?;
    let conn = connect(&ctx).map_err(|e| e.at_server(&ctx.server))?;
    let mut session = Session {
        store: conn.store,
        logs: conn.logs,
        kinds: conn.kinds,
        namespace: ctx.namespace.clone(),
        server: ctx.server.clone(),
        explicit_namespace: cli.global.namespace.is_some(),
        request_timeout: cli.global.request_timeout,
        env,
        out,
        err,
    };
    // A watch ends quietly at --request-timeout and rollout status has its own --timeout; any
    // other command that runs longer fails.
    let limit = match &cli.command {
        Command::Get(a) if a.watch => None,
        Command::Rollout(_) => None,
        _ => cli.global.request_timeout,
    };
    let work = async {
        match cli.command {
            Command::Apply(a) => apply::run(&mut session, a).await,
            Command::Get(a) => get::run(&mut session, a).await,
            Command::Describe(a) => describe::run(&mut session, a).await,
            Command::Delete(a) => delete::run(&mut session, a).await,
            Command::Logs(a) => pod_logs::run(&mut session, a).await,
            Command::Rollout(RolloutCommand::Status(a)) => rollout::run(&mut session, a).await,
            Command::Scale(a) => scale::run(&mut session, a).await,
            Command::ApiResources(a) => api_resources::run(&mut session, a),
            Command::Version | Command::Config(_) => Ok(()),
        }
    };
    let result = match limit {
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(CliError::Timeout(format!("the request did not finish within {}", duration::human_duration(limit))))
        }),
        None => work.await,
    };
    result.map_err(|e| e.at_server(&ctx.server))
}

/// `run` must be spawnable on a multi-threaded runtime.
#[allow(dead_code)]
fn _run_is_send(connect: &Connect<'_>, out: &mut (dyn Write + Send), err: &mut (dyn Write + Send)) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&run(Vec::new(), connect, out, err));
}
