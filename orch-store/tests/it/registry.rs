//! The Registry over MemKv: the object contract suite, plus what only the Registry can show
//! (custom kinds, compaction, admission, eviction, slow watchers, runs without tokio).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_core::kinds::Pod;
use orch_core::runtime::{DeterministicExecutor, ManualClock, TokioSpawn};
use orch_core::store::{Api, DeleteOptions, ObjectStore, WatchEvent, WatchParams};
use orch_core::{DynamicObject, ObjectMeta, Resource, StoreError};
use orch_store::kv::KvStore;
use orch_store::mem::{MemKv, MemKvConfig};
use orch_store::registry::{AdmissionRequest, EvictionGuard, MutatingAdmission, ValidatingAdmission};
use orch_store::testkit::object as kit;
use orch_store::{Registry, RegistryConfig};

async fn store() -> Arc<dyn ObjectStore> {
    Arc::new(Registry::in_memory().await.expect("registry"))
}

async fn run(check: impl FnOnce(Arc<dyn ObjectStore>) -> futures::future::BoxFuture<'static, ()>) {
    check(store().await).await
}

orch_store::object_contract_tests!(run);

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct GameServer {
    metadata: ObjectMeta,
    spec: GameServerSpec,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct GameServerSpec {
    map: String,
    players: u32,
}

orch_core::resource!(
    GameServer,
    group = "games.example.com",
    version = "v1",
    plural = "gameservers",
    scope = Namespaced
);

#[tokio::test]
async fn custom_kind_registered_at_run_time_is_served_like_builtins() {
    let registry = Registry::in_memory().await.expect("registry");
    let store: Arc<dyn ObjectStore> = Arc::new(registry.clone());
    let api: Api<GameServer> = Api::namespaced(store.clone(), "default");
    let gs =
        GameServer { metadata: ObjectMeta::named("arena"), spec: GameServerSpec { map: "dust".into(), players: 10 } };
    let err = api.create(&gs).await.expect_err("not registered yet");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    registry.register_kind::<GameServer>().expect("register");
    let created = api.create(&gs).await.expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    let mut w = api.watch(&WatchParams::default()).await.expect("watch");
    let mut bigger = created.clone();
    bigger.spec.players = 12;
    let updated = api.update(&bigger).await.expect("update");
    assert_eq!(updated.metadata.generation, Some(2));
    let mut seen = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event").expect("open") {
            Ok(orch_core::store::TypedEvent::Added(g)) => seen.push(("ADDED", g.spec.players)),
            Ok(orch_core::store::TypedEvent::Modified(g)) => seen.push(("MODIFIED", g.spec.players)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, [("ADDED", 10), ("MODIFIED", 12)]);
    let mut bad = gs.clone();
    bad.metadata.name = Some("Not_A_Name".into());
    let err = api.create(&bad).await.expect_err("metadata is validated for custom kinds too");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

#[tokio::test]
async fn watch_from_compacted_version_is_gone() {
    let kv = Arc::new(MemKv::with_config(MemKvConfig::default().no_auto_compaction()));
    let registry =
        Registry::builder(kv.clone(), Arc::new(orch_core::runtime::SystemClock), Arc::new(TokioSpawn::current()))
            .build()
            .await
            .expect("registry");
    let pods: Api<Pod> = Api::namespaced(Arc::new(registry), "default");
    let first = pods.create(&kit::pod("a")).await.expect("create");
    pods.create(&kit::pod("b")).await.expect("create");
    let now = kv.status().await.expect("status").revision;
    kv.compact(now).await.expect("compact");
    let from = first.metadata.resource_version.clone().unwrap_or_default();
    match pods.watch(&WatchParams::default().from_version(from)).await {
        Err(StoreError::Gone { requested, compacted }) => assert!(requested < compacted),
        Err(e) => panic!("expected Gone, got {e}"),
        Ok(_) => panic!("expected Gone, got a watch"),
    }
}

struct DefaultTeam;
impl MutatingAdmission for DefaultTeam {
    fn name(&self) -> &str {
        "DefaultTeam"
    }
    fn admit(&self, _: &AdmissionRequest<'_>, obj: &mut DynamicObject) -> Result<(), StoreError> {
        obj.metadata.labels.entry("team".into()).or_insert_with(|| "platform".into());
        Ok(())
    }
}

struct NoTeamBlue;
#[async_trait::async_trait]
impl ValidatingAdmission for NoTeamBlue {
    fn name(&self) -> &str {
        "NoTeamBlue"
    }
    async fn validate(&self, _: &AdmissionRequest<'_>, obj: &DynamicObject) -> Result<(), StoreError> {
        if obj.metadata.labels.get("team").map(String::as_str) == Some("blue") {
            return Err(StoreError::Forbidden { message: "team blue is frozen".into() });
        }
        Ok(())
    }
}

#[tokio::test]
async fn admission_mutates_then_validates_and_refused_writes_change_nothing() {
    let kv: Arc<dyn KvStore> = Arc::new(MemKv::new());
    let registry = Registry::builder(kv, Arc::new(orch_core::runtime::SystemClock), Arc::new(TokioSpawn::current()))
        .mutating(Arc::new(DefaultTeam))
        .validating(Arc::new(NoTeamBlue))
        .build()
        .await
        .expect("registry");
    let pods: Api<Pod> = Api::namespaced(Arc::new(registry), "default");
    let p = pods.create(&kit::pod("a")).await.expect("create");
    assert_eq!(p.metadata.labels["team"], "platform", "mutating plugin ran");
    let mut blue = kit::pod("b");
    blue.metadata.labels.insert("team".into(), "blue".into());
    let err = pods.create(&blue).await.expect_err("refused");
    assert!(matches!(err, StoreError::Forbidden { .. }), "{err}");
    assert!(pods.get_opt("b").await.expect("get").is_none());
}

struct KeepCritical;
#[async_trait::async_trait]
impl EvictionGuard for KeepCritical {
    async fn check(&self, pod: &DynamicObject) -> Result<(), StoreError> {
        if pod.metadata.labels.contains_key("critical") {
            return Err(StoreError::TooManyRequests {
                message: "budget exhausted".into(),
                retry_after_seconds: Some(10),
            });
        }
        Ok(())
    }
}

#[tokio::test]
async fn eviction_is_refused_when_the_guard_says_so() {
    let kv: Arc<dyn KvStore> = Arc::new(MemKv::new());
    let registry = Registry::builder(kv, Arc::new(orch_core::runtime::SystemClock), Arc::new(TokioSpawn::current()))
        .eviction_guard(Arc::new(KeepCritical))
        .build()
        .await
        .expect("registry");
    let pods: Api<Pod> = Api::namespaced(Arc::new(registry), "default");
    let mut critical = kit::pod("db");
    critical.metadata.labels.insert("critical".into(), "true".into());
    pods.create(&critical).await.expect("create");
    pods.create(&kit::pod("web")).await.expect("create");
    let err = pods.evict("db", &DeleteOptions::default()).await.expect_err("guarded");
    assert!(matches!(err, StoreError::TooManyRequests { .. }), "{err}");
    pods.evict("web", &DeleteOptions::default()).await.expect("evict");
    assert!(pods.get_opt("web").await.expect("get").is_none());
    assert!(pods.get_opt("db").await.expect("get").is_some());
}

/// A registry over a fresh `MemKv` on the system clock, with `config`.
async fn registry_with(config: RegistryConfig) -> Registry {
    let kv: Arc<dyn KvStore> = Arc::new(MemKv::new());
    Registry::builder(kv, Arc::new(orch_core::runtime::SystemClock), Arc::new(TokioSpawn::current()))
        .config(config)
        .build()
        .await
        .expect("registry")
}

type PodEvents = futures::stream::BoxStream<'static, Result<orch_core::store::TypedEvent<Pod>, StoreError>>;

/// Starts the pod hub (the first stream returned keeps it busy), creates pods p0 to p5 and
/// watches from p0's revision: with a hub window of two events, the watch starts before it.
async fn watch_from_before_the_window(registry: &Registry) -> (Api<Pod>, PodEvents, orch_core::store::WatchStream) {
    let store: Arc<dyn ObjectStore> = Arc::new(registry.clone());
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let warm = store.watch(&Pod::resource_type(), None, &WatchParams::default()).await.expect("start the hub");
    let first = pods.create(&kit::pod("p0")).await.expect("create");
    for i in 1..6 {
        pods.create(&kit::pod(&format!("p{i}"))).await.expect("create");
    }
    let from = first.metadata.resource_version.clone().unwrap_or_default();
    let w = pods.watch(&WatchParams::default().from_version(from)).await.expect("watch");
    (pods, w, warm)
}

#[tokio::test]
async fn a_watcher_that_never_reads_is_ended_without_holding_up_others() {
    let registry = registry_with(RegistryConfig::default().watch_buffer(8)).await;
    let store: Arc<dyn ObjectStore> = Arc::new(registry);
    let rt = Pod::resource_type();
    let mut slow = store.watch(&rt, Some("default"), &WatchParams::default().from_version("1")).await.expect("watch");
    let mut fast = store.watch(&rt, Some("default"), &WatchParams::default()).await.expect("watch");
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    for i in 0..50 {
        pods.create(&kit::pod(&format!("p{i}"))).await.expect("create");
        let ev = tokio::time::timeout(Duration::from_secs(5), fast.next())
            .await
            .expect("fast watcher keeps up")
            .expect("open");
        assert!(matches!(ev, WatchEvent::Added(_)), "{ev:?}");
    }
    let mut got = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), slow.next()).await.expect("slow watcher ends") {
            Some(WatchEvent::Added(_)) => got += 1,
            Some(WatchEvent::Error(StoreError::Unavailable { .. })) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got <= 8, "a slow watcher gets at most its buffer before it is ended ({got})");
}

#[tokio::test]
async fn watch_timeout_ends_the_stream() {
    let store = store().await;
    let mut w = store
        .watch(&Pod::resource_type(), Some("default"), &WatchParams::default().timeout(Duration::from_millis(100)))
        .await
        .expect("watch");
    let end = tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("ends in time");
    assert!(end.is_none());
}

#[tokio::test]
async fn watchers_older_than_the_hub_window_read_the_store_history() {
    let registry = registry_with(RegistryConfig::default().watch_history(2)).await;
    let (_pods, mut w, _warm) = watch_from_before_the_window(&registry).await;
    for i in 1..6 {
        match tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event").expect("open") {
            Ok(orch_core::store::TypedEvent::Added(p)) => assert_eq!(p.metadata.name_str(), format!("p{i}")),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_watcher_behind_the_hub_window_moves_to_the_hub_once_caught_up_without_gaps() {
    let registry = registry_with(RegistryConfig::default().watch_history(2)).await;
    let (pods, mut w, _warm) = watch_from_before_the_window(&registry).await;
    // It starts before the hub's window, so the store's history serves it first (the count is
    // not checked here: it may have caught up already).
    let mut names = Vec::new();
    for i in 6..40 {
        pods.create(&kit::pod(&format!("p{i}"))).await.expect("create");
    }
    while names.len() < 39 {
        match tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event").expect("open") {
            Ok(orch_core::store::TypedEvent::Added(p)) => names.push(p.metadata.name_str().to_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(names, (1..40).map(|i| format!("p{i}")).collect::<Vec<_>>(), "every event once, in order");
    let handed_over = tokio::time::timeout(Duration::from_secs(5), async {
        while registry.history_watchers() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    handed_over.await.expect("the hub serves it once it caught up");
    pods.create(&kit::pod("after")).await.expect("create");
    match tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event").expect("open") {
        Ok(orch_core::store::TypedEvent::Added(p)) => assert_eq!(p.metadata.name_str(), "after"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_registry_runs_without_tokio_on_a_manual_clock() {
    let exec = DeterministicExecutor::new();
    let clock = ManualClock::new();
    let kv: Arc<dyn KvStore> =
        Arc::new(MemKv::with_runtime(MemKvConfig::default(), Arc::new(clock.clone()), Arc::new(exec.clone())));
    let registry = exec
        .block_on(
            Registry::builder(kv, Arc::new(clock.clone()), Arc::new(exec.clone()))
                .config(RegistryConfig::default().uid_seed(1))
                .build(),
        )
        .expect("registry");
    let store: Arc<dyn ObjectStore> = Arc::new(registry);
    let pods: Api<Pod> = Api::namespaced(store, "default");
    let mut w = exec.block_on(pods.watch(&WatchParams::default())).expect("watch");
    let created = exec.block_on(pods.create(&kit::pod("a"))).expect("create");
    assert_eq!(created.metadata.creation_timestamp, Some(clock.now_truncated()));
    match exec.block_on(w.next()) {
        Some(Ok(orch_core::store::TypedEvent::Added(p))) => assert_eq!(p.metadata.name_str(), "a"),
        other => panic!("unexpected {other:?}"),
    }
    exec.block_on(pods.bind("a", "n1")).expect("bind");
    let pending = exec.block_on(pods.delete("a", &DeleteOptions::default())).expect("delete").expect("graceful");
    assert_eq!(pending.metadata.deletion_timestamp, Some(clock.now_truncated() + Duration::from_secs(30)));
}

trait Truncated {
    fn now_truncated(&self) -> orch_core::Timestamp;
}
impl Truncated for ManualClock {
    fn now_truncated(&self) -> orch_core::Timestamp {
        orch_core::runtime::Clock::now(self).truncate_to_seconds()
    }
}
