//! A user plugin beside the default ones: `PreferLabel` scores nodes carrying a label.
//!
//! `cargo run --example custom_scheduler_plugin`

use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Container, Node, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::{Api, ListParams};
use orch_core::{ObjectMeta, ObjectStore};
use orch_sched::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PluginConfig, PluginRegistry, PluginSet, PodInfo, Profile,
    SchedError, Scheduler, SchedulerConfig, ScorePlugin, Status,
};

/// Prefers nodes whose label `key` is set; the key comes from the profile's args.
struct PreferLabel {
    key: String,
}

impl Plugin for PreferLabel {
    fn name(&self) -> &str {
        "PreferLabel"
    }
}

impl ScorePlugin for PreferLabel {
    fn score(&self, _: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(if node.labels().contains_key(&self.key) { MAX_NODE_SCORE } else { 0 })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn ObjectStore> = Arc::new(orch_store::Registry::in_memory().await?);
    let mut registry = PluginRegistry::with_defaults();
    registry.register("PreferLabel", |args, _ctx| {
        let key = args.get("key").and_then(|k| k.as_str()).ok_or_else(|| SchedError::InvalidArgs {
            plugin: "PreferLabel".into(),
            reason: "args.key (a string) is required".into(),
        })?;
        Ok(PluginSet::default().score(Arc::new(PreferLabel { key: key.to_owned() })))
    })?;
    let profile = Profile::default_profile()
        .with_plugin(PluginConfig::new("PreferLabel").weight(10).args(serde_json::json!({"key": "fast"})));
    let config = SchedulerConfig::default().profiles(vec![profile]);
    let scheduler =
        Scheduler::new(store.clone(), Arc::new(SystemClock), Arc::new(TokioSpawn::current()), config, registry)?;
    scheduler.start();

    let nodes: Api<Node> = Api::all(store.clone());
    for (name, fast) in [("slow-1", false), ("slow-2", false), ("fast-1", true)] {
        let mut meta = ObjectMeta::named(name);
        if fast {
            meta = meta.with_label("fast", "true");
        }
        let mut node = nodes.create(&Node { metadata: meta, ..Default::default() }).await?;
        for (k, v) in [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")] {
            node.status.allocatable.insert(k.into(), v.into());
        }
        nodes.update_status(&node).await?;
    }
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    for i in 0..3 {
        let mut pod = Pod { metadata: ObjectMeta::named(format!("web-{i}")), ..Default::default() };
        pod.spec.containers.push(Container { name: "web".into(), image: "nginx".into(), ..Default::default() });
        pods.create(&pod).await?;
    }
    while scheduler.stats().bound < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for p in pods.list(&ListParams::default()).await?.items {
        println!("{} -> {}", p.metadata.name_str(), p.spec.node_name.unwrap_or_default());
    }
    scheduler.stop();
    Ok(())
}
