//! The object-level contract suite: what every `ObjectStore` (the in-process `Registry`, the HTTP
//! client) must do. Each check is a public async fn over `Arc<dyn ObjectStore>`; each works in a
//! namespace of its own, so they can share one store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use orch_core::kinds::{Container, Namespace, Pod};
use orch_core::store::{
    Api, DeleteOptions, ListParams, ObjectStore, TypedEvent, WatchEvent, WatchParams, WriteOptions,
};
use orch_core::{DynamicObject, ObjectMeta, Patch, Resource, StoreError};
use serde_json::json;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Creates a namespace with a unique name for one check.
///
/// # Panics
/// When the store refuses to create it (the check cannot run).
pub async fn fresh_namespace(store: &Arc<dyn ObjectStore>, prefix: &str) -> String {
    let name = format!("{prefix}-{}-{}", std::process::id() % 10_000, NEXT.fetch_add(1, Ordering::SeqCst));
    let ns = Namespace { metadata: ObjectMeta::named(name.clone()), ..Default::default() };
    Api::<Namespace>::all(store.clone()).create(&ns).await.expect("creating a test namespace");
    name
}

/// A minimal valid pod.
pub fn pod(name: &str) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).with_label("app", "web"), ..Default::default() };
    p.spec.containers.push(Container { name: "c".into(), image: "busybox".into(), ..Default::default() });
    p
}

fn rv(p: &Pod) -> i64 {
    p.metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("objects carry a numeric resourceVersion")
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = Result<TypedEvent<Pod>, StoreError>> + Unpin),
) -> TypedEvent<Pod> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(TypedEvent::Bookmark(_)))) => continue,
            Ok(Some(Ok(ev))) => return ev,
            Ok(Some(Err(e))) => panic!("watch failed: {e}"),
            Ok(None) => panic!("watch ended"),
            Err(_) => panic!("no watch event within 10 s"),
        }
    }
}

fn name_of(ev: &TypedEvent<Pod>) -> (&'static str, String) {
    match ev {
        TypedEvent::Added(p) => ("ADDED", p.metadata.name_str().to_owned()),
        TypedEvent::Modified(p) => ("MODIFIED", p.metadata.name_str().to_owned()),
        TypedEvent::Deleted(p) => ("DELETED", p.metadata.name_str().to_owned()),
        TypedEvent::Bookmark(_) => ("BOOKMARK", String::new()),
    }
}

/// The bootstrap namespaces exist from the start.
pub async fn bootstrap_namespaces_exist(store: Arc<dyn ObjectStore>) {
    let api = Api::<Namespace>::all(store);
    for ns in ["default", "kube-system", "kube-node-lease"] {
        api.get(ns).await.unwrap_or_else(|e| panic!("namespace {ns}: {e}"));
    }
}

/// Create assigns uid, resourceVersion, creationTimestamp and generation 1; a second create is `AlreadyExists`.
pub async fn create_assigns_metadata_and_refuses_duplicates(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "create").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let created = pods.create(&pod("a")).await.expect("create");
    assert!(created.metadata.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(rv(&created) > 0);
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.metadata.namespace.as_deref(), Some(ns.as_str()));
    assert_eq!(pods.get("a").await.expect("get"), created);
    let err = pods.create(&pod("a")).await.expect_err("duplicate");
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    let err = pods.get("missing").await.expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// `generateName` yields distinct names with the prefix.
pub async fn generate_name_makes_unique_names(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "genname").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let mut p = pod("");
    p.metadata.name = None;
    p.metadata.generate_name = Some("web-".into());
    let a = pods.create(&p).await.expect("create a");
    let b = pods.create(&p).await.expect("create b");
    assert!(a.metadata.name_str().starts_with("web-") && a.metadata.name_str().len() == 9);
    assert_ne!(a.metadata.name, b.metadata.name);
}

/// An invalid object is refused with field errors and nothing is written.
pub async fn invalid_object_is_refused_with_field_paths(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "invalid").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let mut p = pod("bad");
    p.spec.containers[0].ports.push(orch_core::kinds::ContainerPort { container_port: 70000, ..Default::default() });
    match pods.create(&p).await {
        Err(StoreError::Invalid { errors, .. }) => {
            assert!(errors.iter().any(|e| e.field == "spec.containers[0].ports[0].containerPort"), "{errors}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(pods.get_opt("bad").await.expect("get").is_none(), "nothing was written");
}

/// Creating in a namespace that does not exist is `NotFound`.
pub async fn create_in_missing_namespace_is_not_found(store: Arc<dyn ObjectStore>) {
    let pods: Api<Pod> = Api::namespaced(store, "no-such-namespace-here");
    let err = pods.create(&pod("a")).await.expect_err("no namespace");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// An update with a stale resourceVersion is `Conflict` and changes nothing; generation rises
/// on spec changes only; `update` ignores `status`.
pub async fn update_with_stale_version_is_conflict(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "update").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let v1 = pods.create(&pod("a")).await.expect("create");
    let mut v2 = v1.clone();
    v2.spec.containers[0].image = "busybox:2".into();
    v2.status.phase = Some("Running".into());
    let v2 = pods.update(&v2).await.expect("update");
    assert!(rv(&v2) > rv(&v1));
    assert_eq!(v2.metadata.generation, Some(2), "spec change raises generation");
    assert_eq!(v2.status.phase.as_deref(), Some("Pending"), "update ignores status");
    let mut stale = v1.clone();
    stale.spec.containers[0].image = "busybox:3".into();
    let err = pods.update(&stale).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(pods.get("a").await.expect("get").spec.containers[0].image, "busybox:2");
    let mut labels_only = v2.clone();
    labels_only.metadata.labels.insert("tier".into(), "web".into());
    let v3 = pods.update(&labels_only).await.expect("label update");
    assert_eq!(v3.metadata.generation, Some(2), "metadata changes keep generation");
}

/// `update_status` changes only `status` and keeps the generation.
pub async fn status_subresource_changes_only_status(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "status").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let v1 = pods.create(&pod("a")).await.expect("create");
    let mut s = v1.clone();
    s.status.phase = Some("Running".into());
    s.spec.containers[0].image = "ignored".into();
    let v2 = pods.update_status(&s).await.expect("status");
    assert_eq!(v2.status.phase.as_deref(), Some("Running"));
    assert_eq!(v2.spec.containers[0].image, "busybox", "status writes ignore spec");
    assert_eq!(v2.metadata.generation, Some(1));
}

/// Merge, JSON and strategic merge patches apply; a patch carrying a stale resourceVersion is `Conflict`.
pub async fn patches_apply_and_respect_versions(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "patch").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let v1 = pods.create(&pod("a")).await.expect("create");
    let p = pods.patch("a", &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}}))).await.expect("merge");
    assert_eq!(p.metadata.labels["tier"], "db");
    let ops = orch_core::patch::parse_json_patch(
        &json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "x"}]),
    )
    .expect("valid JSON patch");
    let p = pods.patch("a", &Patch::Json(ops)).await.expect("json patch");
    assert_eq!(p.spec.containers[0].image, "x");
    let p = pods
        .patch("a", &Patch::Strategic(json!({"spec": {"containers": [{"name": "sidecar", "image": "s"}]}})))
        .await
        .expect("strategic");
    assert_eq!(p.spec.containers.len(), 2, "containers merge by name");
    let stale = json!({"metadata": {"resourceVersion": v1.metadata.resource_version}, "spec": {"hostname": "h"}});
    let err = pods.patch("a", &Patch::Merge(stale)).await.expect_err("stale patch");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let err = pods.patch("missing", &Patch::Merge(json!({}))).await.expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// Deleting an object with finalizers marks it; removing the finalizers removes it.
pub async fn finalizers_hold_deletion(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "finalize").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let mut p = pod("a");
    p.metadata.finalizers.push("example.com/hold".into());
    pods.create(&p).await.expect("create");
    let pending = pods.delete("a", &DeleteOptions::default()).await.expect("delete").expect("held by finalizer");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let mut release = pods.get("a").await.expect("still there");
    release.metadata.finalizers.clear();
    pods.update(&release).await.expect("remove finalizer");
    assert!(pods.get_opt("a").await.expect("get").is_none(), "removed once finalizers are empty");
}

/// Delete preconditions on uid and resourceVersion are honoured.
pub async fn delete_preconditions_are_checked(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "precond").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let v1 = pods.create(&pod("a")).await.expect("create");
    let mut v2 = v1.clone();
    v2.metadata.labels.insert("x".into(), "y".into());
    pods.update(&v2).await.expect("update");
    let stale = DeleteOptions::default().at_version(v1.metadata.resource_version.clone().unwrap_or_default());
    let err = pods.delete("a", &stale).await.expect_err("stale delete");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(pods.delete("a", &DeleteOptions::default()).await.expect("delete").is_none());
    let err = pods.delete("a", &DeleteOptions::default()).await.expect_err("gone");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// A bound pod is deleted gracefully; a second delete with grace 0 removes it.
pub async fn bound_pods_are_deleted_gracefully(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "graceful").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    pods.create(&pod("a")).await.expect("create");
    pods.bind("a", "node-1").await.expect("bind");
    let pending = pods.delete("a", &DeleteOptions::default()).await.expect("delete").expect("graceful");
    assert_eq!(pending.metadata.deletion_grace_period_seconds, Some(30));
    assert!(pods.delete("a", &DeleteOptions::default().grace_period(0)).await.expect("force").is_none());
    assert!(pods.get_opt("a").await.expect("get").is_none());
    pods.create(&pod("b")).await.expect("create unbound");
    assert!(pods.delete("b", &DeleteOptions::default()).await.expect("delete").is_none(), "unbound pods go at once");
}

/// Binding sets `spec.nodeName` once; a second binding is `Conflict`.
pub async fn binding_sets_node_only_once(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "bind").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    pods.create(&pod("a")).await.expect("create");
    let bound = pods.bind("a", "node-1").await.expect("bind");
    assert_eq!(bound.spec.node_name.as_deref(), Some("node-1"));
    assert!(bound.status.conditions.iter().any(|c| c.type_ == "PodScheduled" && c.is_true()));
    let err = pods.bind("a", "node-2").await.expect_err("second bind");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(pods.get("a").await.expect("get").spec.node_name.as_deref(), Some("node-1"));
}

/// Lists filter by label and field selectors and page with limit/continue at one revision.
pub async fn list_filters_and_pages_consistently(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "list").await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), &ns);
    for i in 0..7 {
        let mut p = pod(&format!("p{i}"));
        p.metadata.labels.insert("parity".into(), if i % 2 == 0 { "even" } else { "odd" }.into());
        pods.create(&p).await.expect("create");
    }
    pods.bind("p3", "node-9").await.expect("bind");
    let even = pods.list(&ListParams::default().labels("parity=even")).await.expect("list");
    assert_eq!(even.items.len(), 4);
    let on_node = pods.list(&ListParams::default().fields("spec.nodeName=node-9")).await.expect("list");
    assert_eq!(on_node.items.iter().map(|p| p.metadata.name_str()).collect::<Vec<_>>(), ["p3"]);
    let page1 = pods.list(&ListParams::default().limit(3)).await.expect("page 1");
    assert_eq!(page1.items.len(), 3);
    let token = page1.continue_token.clone().expect("more pages");
    pods.create(&pod("p9")).await.expect("write between pages");
    let mut names: Vec<String> = page1.items.iter().map(|p| p.metadata.name_str().to_owned()).collect();
    let mut next = Some(token);
    while let Some(t) = next {
        let page = pods.list(&ListParams::default().limit(3).continue_from(t)).await.expect("next page");
        assert_eq!(page.resource_version, page1.resource_version, "pages are read at one revision");
        names.extend(page.items.iter().map(|p| p.metadata.name_str().to_owned()));
        next = page.continue_token;
    }
    assert_eq!(names, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"], "p9 was written after the first page");
    let err = pods.list(&ListParams::default().labels("a in (")).await.expect_err("bad selector");
    assert!(matches!(err, StoreError::BadRequest { .. }), "{err}");
    let err = pods.list(&ListParams::default().limit(1).continue_from("garbage")).await.expect_err("bad token");
    assert!(matches!(err, StoreError::BadRequest { .. }), "{err}");
}

/// A watch without a resourceVersion starts with `Added` for every existing object, then changes.
pub async fn watch_without_version_sends_initial_state_then_changes(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "watch0").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    pods.create(&pod("a")).await.expect("create a");
    pods.create(&pod("b")).await.expect("create b");
    let mut w = pods.watch(&WatchParams::default()).await.expect("watch");
    let mut initial = vec![name_of(&next_event(&mut w).await), name_of(&next_event(&mut w).await)];
    initial.sort();
    assert_eq!(initial, [("ADDED", "a".to_owned()), ("ADDED", "b".to_owned())]);
    pods.create(&pod("c")).await.expect("create c");
    assert_eq!(name_of(&next_event(&mut w).await), ("ADDED", "c".to_owned()));
    pods.delete("a", &DeleteOptions::default()).await.expect("delete a");
    assert_eq!(name_of(&next_event(&mut w).await), ("DELETED", "a".to_owned()));
}

/// A watch from a resourceVersion delivers every change after it, in order, exactly once.
pub async fn watch_from_version_delivers_every_later_change_in_order(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "watchrv").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let a = pods.create(&pod("a")).await.expect("create a");
    let mut a2 = a.clone();
    a2.metadata.labels.insert("v".into(), "2".into());
    let a2 = pods.update(&a2).await.expect("update");
    pods.create(&pod("b")).await.expect("create b");
    pods.delete("a", &DeleteOptions::default()).await.expect("delete");
    let mut w = pods
        .watch(&WatchParams::default().from_version(a.metadata.resource_version.clone().unwrap_or_default()))
        .await
        .expect("watch");
    let got = vec![
        name_of(&next_event(&mut w).await),
        name_of(&next_event(&mut w).await),
        name_of(&next_event(&mut w).await),
    ];
    assert_eq!(got, [("MODIFIED", "a".to_owned()), ("ADDED", "b".to_owned()), ("DELETED", "a".to_owned())]);
    let mut w2 = pods
        .watch(&WatchParams::default().from_version(a2.metadata.resource_version.clone().unwrap_or_default()))
        .await
        .expect("watch");
    assert_eq!(name_of(&next_event(&mut w2).await), ("ADDED", "b".to_owned()), "resume skips what was seen");
}

/// Objects entering a watch's selector arrive as `Added`, leaving as `Deleted`; a pod bound to a
/// node is `Added` for that node's watch.
pub async fn watch_selectors_turn_enter_and_leave_into_added_and_deleted(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "watchsel").await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), &ns);
    let mut by_label = pods.watch(&WatchParams::default().labels("tier=db")).await.expect("watch labels");
    let all_pods: Api<Pod> = Api::all(store);
    let mut by_node = all_pods.watch(&WatchParams::default().fields("spec.nodeName=node-7")).await.expect("watch node");
    let created = pods.create(&pod("a")).await.expect("create");
    pods.bind("a", "node-7").await.expect("bind");
    assert_eq!(name_of(&next_event(&mut by_node).await), ("ADDED", "a".to_owned()));
    let p = pods.patch("a", &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}}))).await.expect("label");
    assert_eq!(name_of(&next_event(&mut by_label).await), ("ADDED", "a".to_owned()));
    assert_eq!(name_of(&next_event(&mut by_node).await), ("MODIFIED", "a".to_owned()));
    pods.patch("a", &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}}))).await.expect("relabel");
    match next_event(&mut by_label).await {
        TypedEvent::Deleted(last) => {
            assert_eq!(last.metadata.labels["tier"], "db", "a leaving object is sent as it was")
        }
        other => panic!("expected DELETED, got {:?}", name_of(&other)),
    }
    assert!(rv(&p) > rv(&created));
}

/// A watch of `spec.nodeName=` (the scheduler's view) sees unbound pods arrive and leave when bound.
pub async fn watch_of_unbound_pods_sees_them_leave_when_bound(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "unbound").await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), &ns);
    let mut w = pods.watch(&WatchParams::default().fields("spec.nodeName=")).await.expect("watch");
    pods.create(&pod("a")).await.expect("create");
    assert_eq!(name_of(&next_event(&mut w).await), ("ADDED", "a".to_owned()));
    pods.bind("a", "node-1").await.expect("bind");
    assert_eq!(name_of(&next_event(&mut w).await), ("DELETED", "a".to_owned()));
}

/// A node keeps the status its agent registers it with; a pod starts `Pending` whatever it was sent with.
pub async fn create_keeps_node_status_and_resets_pod_status(store: Arc<dyn ObjectStore>) {
    use orch_core::kinds::Node;
    let nodes: Api<Node> = Api::all(store.clone());
    let name = format!("node-status-{}", NEXT.fetch_add(1, Ordering::SeqCst));
    let mut node = Node { metadata: ObjectMeta::named(name.clone()), ..Default::default() };
    node.status.capacity.insert("cpu".into(), orch_core::Quantity::from("4"));
    let created = nodes.create(&node).await.expect("create node");
    assert_eq!(created.status.capacity["cpu"].0, "4");
    let ns = fresh_namespace(&store, "podstatus").await;
    let pods: Api<Pod> = Api::namespaced(store, &ns);
    let mut p = pod("a");
    p.status.phase = Some("Running".into());
    assert_eq!(pods.create(&p).await.expect("create pod").status.phase.as_deref(), Some("Pending"));
}

/// A dry run validates and returns the result but writes nothing.
pub async fn dry_run_writes_nothing(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "dryrun").await;
    let mut obj = DynamicObject::from_typed(&pod("a")).expect("encode");
    obj.metadata.namespace = Some(ns.clone());
    let out = store.create(&Pod::resource_type(), obj, &WriteOptions::dry_run()).await.expect("dry run");
    assert_eq!(out.name(), "a");
    let err = store.get(&Pod::resource_type(), Some(&ns), "a").await.expect_err("not written");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// Every raw watch event carries a resourceVersion that never decreases.
pub async fn watch_versions_never_decrease(store: Arc<dyn ObjectStore>) {
    let ns = fresh_namespace(&store, "watchorder").await;
    let mut w = store.watch(&Pod::resource_type(), Some(&ns), &WatchParams::default()).await.expect("watch");
    let pods: Api<Pod> = Api::namespaced(store.clone(), &ns);
    for i in 0..20 {
        pods.create(&pod(&format!("p{i}"))).await.expect("create");
    }
    let mut last = 0i64;
    for _ in 0..20 {
        let ev = tokio::time::timeout(Duration::from_secs(10), w.next()).await.expect("event in time").expect("open");
        if let WatchEvent::Error(e) = &ev {
            panic!("watch error: {e}");
        }
        let v: i64 = ev.resource_version().and_then(|v| v.parse().ok()).expect("numeric version");
        assert!(v > last, "{v} after {last}");
        last = v;
    }
}

/// Generates one `#[tokio::test]` per check of this suite (the calling crate needs `tokio`
/// with the `macros` and multi-thread runtime features). `$run` is an async fn that sets a store
/// up, runs the check it is given on it, and tears it down:
/// `async fn run(check: impl FnOnce(Arc<dyn ObjectStore>) -> futures::future::BoxFuture<'static, ()>)`.
///
/// ```ignore
/// async fn run(check: impl FnOnce(Arc<dyn ObjectStore>) -> BoxFuture<'static, ()>) {
///     check(Arc::new(Registry::in_memory().await.unwrap())).await
/// }
/// orch_store::object_contract_tests!(run);
/// ```
#[macro_export]
macro_rules! object_contract_tests {
    ($run:path) => {
        $crate::object_contract_tests!(@each $run;
            bootstrap_namespaces_exist,
            create_assigns_metadata_and_refuses_duplicates,
            generate_name_makes_unique_names,
            invalid_object_is_refused_with_field_paths,
            create_in_missing_namespace_is_not_found,
            update_with_stale_version_is_conflict,
            status_subresource_changes_only_status,
            patches_apply_and_respect_versions,
            finalizers_hold_deletion,
            delete_preconditions_are_checked,
            bound_pods_are_deleted_gracefully,
            binding_sets_node_only_once,
            list_filters_and_pages_consistently,
            watch_without_version_sends_initial_state_then_changes,
            watch_from_version_delivers_every_later_change_in_order,
            watch_selectors_turn_enter_and_leave_into_added_and_deleted,
            dry_run_writes_nothing,
            watch_versions_never_decrease,
            watch_of_unbound_pods_sees_them_leave_when_bound,
            create_keeps_node_status_and_resets_pod_status,
        );
    };
    (@each $run:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $run(|store| ::std::boxed::Box::pin($crate::testkit::object::$name(store))).await;
            }
        )*
    };
}
