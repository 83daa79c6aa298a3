//! get: tables, wide, yaml/json/name, -A, -l, several kinds, watch.

use orch_core::DynamicObject;

use super::fixtures::{DEPLOYMENT, SERVICE, mark_running, pod_manifest};
use super::{orchctl, store, write};

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

    let bare = orchctl(&s, &["get", "deploy", "--no-headers"]).await;
    assert!(bare.out.starts_with("web   0/2   0   0   "), "{}", bare.out);
    let kinds = orchctl(&s, &["api-resources", "--namespaced=false", "--no-headers"]).await;
    assert_eq!(kinds.out, "namespaces   ns   v1   false   Namespace\nnodes        no   v1   false   Node\n");

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
async fn long_lists_are_read_in_pages_and_all_printed() {
    let s = store().await;
    let rt = <orch_core::kinds::Lease as orch_core::Resource>::resource_type();
    for i in 0..1_001 {
        let lease = DynamicObject::new(
            "coordination.k8s.io/v1",
            "Lease",
            orch_core::ObjectMeta::named(format!("l{i:04}")).in_namespace("default"),
        );
        s.create(&rt, lease, &Default::default()).await.unwrap();
    }
    let o = orchctl(&s, &["get", "leases", "-o", "name"]).await;
    assert_eq!(o.code, 0, "{}", o.err);
    let names: Vec<&str> = o.out.lines().collect();
    assert_eq!(names.len(), 1_001);
    assert_eq!((names[0], names[1_000]), ("lease.coordination.k8s.io/l0000", "lease.coordination.k8s.io/l1000"));
}
