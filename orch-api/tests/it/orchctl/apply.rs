//! apply: create, configure, unchanged, dry runs, stdin, custom kinds.

use std::sync::Arc;

use orch_api::{CliError, Connection, Environment, ResolvedContext};
use orch_core::Resource;
use orch_core::kinds::Pod;
use serde_json::json;

use super::fixtures::{DEPLOYMENT, SERVICE, pod_manifest};
use super::{orchctl, orchctl_env, run_raw, store, write};

#[tokio::test]
async fn apply_creates_then_configures_then_reports_unchanged() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "app.yaml", &format!("{DEPLOYMENT}---\n{SERVICE}"));
    let first = orchctl(&s, &["apply", "-f", &file]).await;
    assert_eq!((first.code, first.err.as_str()), (0, ""));
    assert_eq!(first.out, "deployment.apps/web created\nservice/web created\n");

    let again = orchctl(&s, &["apply", "-f", &file]).await;
    assert_eq!(again.out, "deployment.apps/web unchanged\nservice/web unchanged\n", "{}", again.err);

    let changed =
        write(dir.path(), "app.yaml", &format!("{}---\n{SERVICE}", DEPLOYMENT.replace("replicas: 2", "replicas: 3")));
    let third = orchctl(&s, &["apply", "-f", &changed]).await;
    assert_eq!(third.out, "deployment.apps/web configured\nservice/web unchanged\n", "{}", third.err);
    let get = orchctl(&s, &["get", "deploy", "web", "-o", "json"]).await;
    let live: serde_json::Value = serde_json::from_str(&get.out).unwrap();
    assert_eq!(live["spec"]["replicas"], 3);
}

#[tokio::test]
async fn apply_dry_runs_report_without_persisting() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.yaml", DEPLOYMENT);
    let client = orchctl(&s, &["apply", "-f", &file, "--dry-run"]).await;
    assert_eq!(client.out, "deployment.apps/web created (dry run)\n", "{}", client.err);
    let server = orchctl(&s, &["apply", "-f", &file, "--dry-run=server"]).await;
    assert_eq!(server.out, "deployment.apps/web created (server dry run)\n", "{}", server.err);
    let get = orchctl(&s, &["get", "deploy", "web"]).await;
    assert_eq!(get.code, 1, "nothing was persisted");
}

#[tokio::test]
async fn apply_reads_standard_input_and_fills_the_namespace() {
    let s = store().await;
    let env = Environment::default()
        .stdin_text(pod_manifest("p", "kube-system", "x").replace("  namespace: kube-system\n", ""));
    let o = orchctl_env(&s, &["apply", "-f", "-", "-n", "kube-system"], &env).await;
    assert_eq!(o.out, "pod/p created\n", "{}", o.err);
    assert!(s.get(&Pod::resource_type(), Some("kube-system"), "p").await.is_ok());
}

#[tokio::test]
async fn custom_kinds_apply_get_and_describe_generically() {
    let registry = orch_store::Registry::in_memory().await.unwrap();
    let rt = orch_core::ResourceType::new(
        "games.example.com",
        "v1",
        "GameServer",
        "gameservers",
        orch_core::Scope::Namespaced,
    );
    registry
        .register_kind_info(orch_core::KindInfo {
            resource_type: rt,
            schema: json!({}),
            has_status: false,
            validator: None,
        })
        .unwrap();
    let kinds = registry.kinds();
    let s: Arc<dyn orch_core::ObjectStore> = Arc::new(registry);
    let connect = |_: &ResolvedContext| -> Result<Connection, CliError> {
        Ok(Connection::new(s.clone()).with_kinds(kinds.clone()))
    };
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "gs.yaml",
        "apiVersion: games.example.com/v1\nkind: GameServer\nmetadata: {name: arena}\nspec: {map: dust, players: 10}\n",
    );
    let run = |args: &[&str]| {
        let argv = args.iter().map(|a| a.to_string()).chain(["--server=http://x".to_string()]).collect::<Vec<_>>();
        let connect = &connect;
        async move { run_raw(argv, &Environment::default(), connect).await }
    };
    assert_eq!(run(&["apply", "-f", &file]).await.out, "gameserver.games.example.com/arena created\n");
    let get = run(&["get", "gameservers"]).await;
    assert!(get.out.starts_with("NAME    AGE\narena   "), "{}", get.out);
    assert_eq!(
        run(&["get", "gameserver.games.example.com", "-o", "name"]).await.out,
        "gameserver.games.example.com/arena\n"
    );
    let describe = run(&["describe", "GameServer", "arena"]).await;
    assert!(describe.out.contains("\nSpec:\n  Map:      dust\n  Players:  10\n"), "{}", describe.out);
}
