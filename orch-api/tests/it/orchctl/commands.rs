//! apply, get, describe, delete, scale and logs.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use orch_api::{CliError, Connection, Environment, LogParams, PodLogs, ResolvedContext};
use orch_core::kinds::Pod;
use orch_core::store::WriteOptions;
use orch_core::{DynamicObject, Resource, StoreError};
use serde_json::json;

use super::{orchctl, orchctl_env, run_raw, store, write};

pub const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
";

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 127.192.0.10
  selector: {app: web}
  ports:
  - port: 80
";

fn pod_manifest(name: &str, ns: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{app: {app}}}\n\
         spec:\n  containers:\n  - name: c\n    image: busybox\n"
    )
}

/// Marks a pod running on `node` with one ready container restarted `restarts` times.
async fn mark_running(store: &Arc<dyn orch_core::ObjectStore>, ns: &str, name: &str, node: &str, restarts: i64) {
    store.bind(ns, name, node).await.unwrap();
    let mut pod = store.get(&Pod::resource_type(), Some(ns), name).await.unwrap();
    pod.data.insert(
        "status".into(),
        json!({"phase": "Running", "podIP": "127.64.0.7", "containerStatuses": [
            {"name": "c", "ready": true, "restartCount": restarts, "image": "busybox", "imageID": "", "state": {"running": {}}}]}),
    );
    store.update_status(&Pod::resource_type(), pod, &WriteOptions::default()).await.unwrap();
}

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
async fn get_pods_prints_an_aligned_table_and_wide_adds_ip_and_node() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "pods.yaml",
        &format!("{}---\n{}", pod_manifest("web-1", "default", "web"), pod_manifest("database", "default", "db")),
    );
    assert_eq!(orchctl(&s, &["apply", "-f", &file]).await.code, 0);
    mark_running(&s, "default", "web-1", "node-1", 2).await;

    let o = orchctl(&s, &["get", "pods"]).await;
    assert_eq!(o.code, 0, "{}", o.err);
    let lines: Vec<&str> = o.out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("NAME       READY   STATUS    RESTARTS   AGE"), "{}", o.out);
    assert!(lines[1].starts_with("database   0/1     Pending   0          "), "{}", o.out);
    assert!(lines[2].starts_with("web-1      1/1     Running   2          "), "{}", o.out);

    let wide = orchctl(&s, &["get", "po", "web-1", "-o", "wide"]).await;
    let header: Vec<&str> = wide.out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]);
    assert!(wide.out.lines().nth(1).unwrap().ends_with("127.64.0.7   node-1"), "{}", wide.out);
}

#[tokio::test]
async fn get_prints_yaml_json_and_names() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.yaml", DEPLOYMENT);
    orchctl(&s, &["apply", "-f", &file]).await;

    let yaml = orchctl(&s, &["get", "deployment", "web", "-o", "yaml"]).await;
    let obj: DynamicObject = yaml_serde::from_str(&yaml.out).unwrap();
    assert_eq!((obj.types.kind.as_str(), obj.name()), ("Deployment", "web"));
    assert!(yaml.out.starts_with("apiVersion: apps/v1\nkind: Deployment\n"), "{}", yaml.out);

    let json = orchctl(&s, &["get", "deployments.apps", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&json.out).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["metadata"]["name"], "web");
    assert!(json.out.contains("\n    \"items\": ["), "kubectl indents JSON by four spaces");

    let names = orchctl(&s, &["get", "deploy", "-o", "name"]).await;
    assert_eq!(names.out, "deployment.apps/web\n");
}

#[tokio::test]
async fn get_across_namespaces_and_by_label() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.yaml",
        &format!("{}---\n{}", pod_manifest("a", "default", "web"), pod_manifest("b", "kube-system", "db")),
    );
    orchctl(&s, &["apply", "-f", &file]).await;

    let all = orchctl(&s, &["get", "pods", "-A"]).await;
    let lines: Vec<&str> = all.out.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE     NAME   READY"), "{}", all.out);
    assert!(lines.iter().any(|l| l.starts_with("kube-system   b ")), "{}", all.out);
    assert!(lines.iter().any(|l| l.starts_with("default       a ")), "{}", all.out);

    let selected = orchctl(&s, &["get", "pods", "-A", "-l", "app=db", "-o", "name"]).await;
    assert_eq!(selected.out, "pod/b\n");

    let none = orchctl(&s, &["get", "pods", "-n", "kube-node-lease"]).await;
    assert_eq!(
        (none.code, none.out.as_str(), none.err.as_str()),
        (0, "", "No resources found in kube-node-lease namespace.\n")
    );
}

#[tokio::test]
async fn get_services_namespaces_and_custom_columns() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "all.yaml", &format!("{DEPLOYMENT}---\n{SERVICE}"));
    orchctl(&s, &["apply", "-f", &file]).await;

    let svc = orchctl(&s, &["get", "svc"]).await;
    let header: Vec<&str> = svc.out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    let row: Vec<&str> = svc.out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..5], ["web", "ClusterIP", "127.192.0.10", "<none>", "80/TCP"]);

    let deploy = orchctl(&s, &["get", "deploy"]).await;
    assert!(
        deploy.out.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    0/2     0            0           "),
        "{}",
        deploy.out
    );

    let ns = orchctl(&s, &["get", "namespaces"]).await;
    assert!(ns.out.lines().any(|l| l.starts_with("kube-system ") && l.contains(" Active ")), "{}", ns.out);

    let labels = orchctl(&s, &["get", "deploy", "--show-labels"]).await;
    assert!(labels.out.lines().nth(1).unwrap().ends_with("app=web"), "{}", labels.out);
}

#[tokio::test]
async fn several_kinds_print_one_table_each_with_kind_prefixed_names() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "all.yaml", &format!("{DEPLOYMENT}---\n{SERVICE}"));
    orchctl(&s, &["apply", "-f", &file]).await;
    let o = orchctl(&s, &["get", "all"]).await;
    assert_eq!(o.code, 0, "{}", o.err);
    let blocks: Vec<&str> = o.out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{}", o.out);
    assert!(
        blocks[0].starts_with("NAME          TYPE        CLUSTER-IP")
            && blocks[0].contains("\nservice/web   ClusterIP"),
        "{}",
        o.out
    );
    assert!(
        blocks[1].starts_with("NAME                  READY") && blocks[1].contains("\ndeployment.apps/web  "),
        "{}",
        o.out
    );
    let names = orchctl(&s, &["get", "svc,deploy", "-o", "name"]).await;
    assert_eq!(names.out, "service/web\ndeployment.apps/web\n");
    let json = orchctl(&s, &["get", "deploy,svc", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&json.out).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let watch = orchctl(&s, &["get", "po,svc", "-w"]).await;
    assert_eq!(
        (watch.code, watch.err.as_str()),
        (1, "error: you may only specify a single resource type with --watch\n")
    );
}

#[tokio::test]
async fn watch_prints_a_row_per_change_until_the_request_timeout() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "a.yaml", &pod_manifest("a", "default", "x"));
    let second = write(dir.path(), "b.yaml", &pod_manifest("b", "default", "x"));
    orchctl(&s, &["apply", "-f", &first]).await;
    let watcher = orchctl(&s, &["get", "pods", "-w", "--request-timeout=1s"]);
    let writer = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        orchctl(&s, &["apply", "-f", &second]).await
    };
    let (o, applied) = tokio::join!(watcher, writer);
    assert_eq!(applied.code, 0);
    assert_eq!(o.code, 0, "{}", o.err);
    let names: Vec<&str> = o.out.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["NAME", "a", "b"]);
}

#[tokio::test]
async fn describe_shows_metadata_containers_and_status() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.yaml", &pod_manifest("web-1", "default", "web"));
    orchctl(&s, &["apply", "-f", &file]).await;
    mark_running(&s, "default", "web-1", "node-1", 0).await;
    let o = orchctl(&s, &["describe", "pod", "web-1"]).await;
    assert_eq!(o.code, 0, "{}", o.err);
    let top: Vec<&str> = o.out.lines().filter(|l| !l.starts_with(' ') && l.contains(":  ")).collect();
    let column = top[0].find("web-1").unwrap();
    assert!(
        top.iter().all(|l| l.len() > column && !l[..column].ends_with(|c: char| c != ' ')),
        "values align:\n{}",
        o.out
    );
    for (label, value) in [
        ("Name", "web-1"),
        ("Namespace", "default"),
        ("Labels", "app=web"),
        ("Annotations", "<none>"),
        ("Node", "node-1"),
        ("Status", "Running"),
        ("IP", "127.64.0.7"),
        ("Events", "<none>"),
    ] {
        assert!(
            top.iter().any(|l| l.starts_with(&format!("{label}:")) && l[column..] == *value),
            "{label}: {value} in\n{}",
            o.out
        );
    }
    assert!(o.out.contains("Containers:\n  c:\n    Image:          busybox\n"), "{}", o.out);

    let deploy = write(dir.path(), "d.yaml", DEPLOYMENT);
    orchctl(&s, &["apply", "-f", &deploy]).await;
    let d = orchctl(&s, &["describe", "deploy/web"]).await;
    let field = |label: &str| d.out.lines().find(|l| l.starts_with(label)).map(|l| l[label.len()..].trim().to_owned());
    assert_eq!(
        field("Replicas:").as_deref(),
        Some("2 desired | 0 updated | 0 total | 0 available | 0 unavailable"),
        "{}",
        d.out
    );
    assert_eq!(field("Selector:").as_deref(), Some("app=web"));
    assert_eq!(field("StrategyType:").as_deref(), Some("RollingUpdate"));
}

#[tokio::test]
async fn delete_by_name_by_file_and_missing_is_not_found() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "all.yaml", &format!("{DEPLOYMENT}---\n{SERVICE}"));
    orchctl(&s, &["apply", "-f", &file]).await;

    let by_name = orchctl(&s, &["delete", "svc", "web", "--grace-period=0"]).await;
    assert_eq!(by_name.out, "service \"web\" deleted\n", "{}", by_name.err);
    let by_file = orchctl(&s, &["delete", "-f", &file, "--cascade=true", "--ignore-not-found"]).await;
    assert_eq!((by_file.code, by_file.out.as_str()), (0, "deployment.apps \"web\" deleted\n"), "{}", by_file.err);
    let gone = orchctl(&s, &["delete", "deploy/web"]).await;
    assert_eq!(gone.code, 1);
    assert_eq!(gone.err, "Error from server (NotFound): deployments.apps \"web\" not found\n");
    let nothing = orchctl(&s, &["delete", "pods"]).await;
    assert_eq!(nothing.code, 1);
    assert!(nothing.err.contains("no name was specified"), "{}", nothing.err);
}

#[tokio::test]
async fn delete_goes_on_after_a_failure_and_counts_failures() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.yaml",
        &format!("{}---\n{}", pod_manifest("a", "default", "x"), pod_manifest("c", "default", "x")),
    );
    orchctl(&s, &["apply", "-f", &file]).await;
    let o = orchctl(&s, &["delete", "pods", "a", "b", "c"]).await;
    assert_eq!(o.code, 1);
    assert_eq!(o.out, "pod \"a\" deleted\npod \"c\" deleted\n");
    assert_eq!(o.err, "Error from server (NotFound): pods \"b\" not found\nerror: 1 of 3 objects failed\n");
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

#[tokio::test]
async fn scale_sets_replicas_of_deployments_and_checks_current() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    orchctl(&s, &["apply", "-f", &write(dir.path(), "d.yaml", DEPLOYMENT)]).await;
    let o = orchctl(&s, &["scale", "deployment/web", "--replicas=5"]).await;
    assert_eq!(o.out, "deployment.apps/web scaled\n", "{}", o.err);
    let live = s.get(&orch_core::kinds::Deployment::resource_type(), Some("default"), "web").await.unwrap();
    assert_eq!(live.spec().unwrap()["replicas"], 5);
    let wrong = orchctl(&s, &["scale", "deploy", "web", "--replicas=1", "--current-replicas=2"]).await;
    assert_eq!(wrong.code, 1);
    assert!(wrong.err.contains("expected replicas to be 2, was 5"), "{}", wrong.err);
    let pods = orchctl(&s, &["scale", "pod/x", "--replicas=1"]).await;
    assert!(pods.err.contains("pods cannot be scaled"), "{}", pods.err);
}

/// Logs that echo what was asked for.
struct EchoLogs;

#[async_trait]
impl PodLogs for EchoLogs {
    async fn logs(
        &self,
        ns: &str,
        pod: &str,
        p: &LogParams,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let line = format!("{ns}/{pod} container={:?} follow={} tail={:?}\n", p.container, p.follow, p.tail_lines);
        Ok(stream::iter([Ok(Bytes::from(line)), Ok(Bytes::from_static(b"done\n"))]).boxed())
    }
}

#[tokio::test]
async fn logs_stream_through_the_connection_or_fail_clearly_without_one() {
    let s = store().await;
    let with_logs = |_: &ResolvedContext| -> Result<Connection, CliError> {
        Ok(Connection::new(s.clone()).with_logs(Arc::new(EchoLogs)))
    };
    let argv =
        |a: &[&str]| a.iter().map(|x| x.to_string()).chain(["--server=http://x".to_string()]).collect::<Vec<_>>();
    let o =
        run_raw(argv(&["logs", "web", "-c", "nginx", "-f", "--tail", "5"]), &Environment::default(), &with_logs).await;
    assert_eq!(o.out, "default/web container=Some(\"nginx\") follow=true tail=Some(5)\ndone\n", "{}", o.err);
    let without = orchctl(&s, &["logs", "web"]).await;
    assert_eq!(without.code, 1);
    assert_eq!(without.err, "error: this connection cannot read pod logs (no log endpoint is configured)\n");
}
