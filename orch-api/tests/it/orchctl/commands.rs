//! describe, delete, scale and logs.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use orch_api::{CliError, Connection, Environment, LogParams, PodLogs, ResolvedContext};
use orch_core::{Resource, StoreError};

use super::fixtures::{DEPLOYMENT, SERVICE, mark_running, pod_manifest};
use super::{orchctl, run_raw, store, write};

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
