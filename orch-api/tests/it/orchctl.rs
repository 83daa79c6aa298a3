//! `orchctl` end to end against an in-process `Registry`: apply, get, describe, delete, scale,
//! rollout status, logs, errors and kubeconfig resolution, with captured output.

mod apply;
mod commands;
mod errors;
mod fixtures;
mod get;
mod kubeconfig;
mod rollout;

use std::sync::{Arc, Mutex};

use orch_api::{CliError, Connection, Environment, ResolvedContext, run_with};
use orch_core::ObjectStore;
use orch_store::Registry;

/// What one run printed and returned.
pub struct Outcome {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// A fresh in-memory control plane.
pub async fn store() -> Arc<dyn ObjectStore> {
    Arc::new(Registry::in_memory().await.expect("in-memory registry"))
}

/// Runs orchctl against `store` with `--server` set, so no kubeconfig is needed.
pub async fn orchctl(store: &Arc<dyn ObjectStore>, args: &[&str]) -> Outcome {
    orchctl_env(store, args, &Environment::default()).await
}

/// [`orchctl`] with an explicit environment.
pub async fn orchctl_env(store: &Arc<dyn ObjectStore>, args: &[&str], env: &Environment) -> Outcome {
    let store = store.clone();
    let connect = move |_: &ResolvedContext| -> Result<Connection, CliError> { Ok(Connection::new(store.clone())) };
    let mut argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    argv.push("--server=https://127.0.0.1:6443".into());
    run_raw(argv, env, &connect).await
}

/// Runs orchctl with exactly `argv` and a given connect function.
pub async fn run_raw(
    argv: Vec<String>,
    env: &Environment,
    connect: &(dyn Fn(&ResolvedContext) -> Result<Connection, CliError> + Sync),
) -> Outcome {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(argv, env, connect, &mut out, &mut err).await;
    Outcome {
        code,
        out: String::from_utf8(out).expect("utf-8 output"),
        err: String::from_utf8(err).expect("utf-8 errors"),
    }
}

/// Runs orchctl with `argv` and returns the context it resolved (it connects to a fresh store).
pub async fn resolved(argv: &[&str], env: &Environment) -> Result<ResolvedContext, String> {
    let store = store().await;
    let seen: Mutex<Option<ResolvedContext>> = Mutex::new(None);
    let connect = |ctx: &ResolvedContext| -> Result<Connection, CliError> {
        *seen.lock().expect("lock") = Some(ctx.clone());
        Ok(Connection::new(store.clone()))
    };
    let mut args: Vec<String> = vec!["get".into(), "ns".into()];
    args.extend(argv.iter().map(|a| a.to_string()));
    let o = run_raw(args, env, &connect).await;
    if o.code != 0 {
        return Err(o.err);
    }
    let ctx = seen.lock().expect("lock").clone();
    ctx.ok_or_else(|| "connect was not called".to_owned())
}

/// Writes `text` to `name` in `dir` and returns the path as a string.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path.display().to_string()
}
