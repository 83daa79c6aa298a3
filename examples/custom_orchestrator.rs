//! A different orchestrator from the same blocks: game servers.
//!
//! `cargo run --example custom_orchestrator`
//!
//! It has its own kind (`GameServer`: a map and a player count), its own controller (one pod per
//! game server, status copied back), its own scheduler plugin (`PackByMap`: servers of the same
//! map go together, so a node keeps one map's assets warm) and simulated nodes (node agents with
//! the `FakeRuntime`, no processes). Everything else — the store, watches, the scheduler
//! framework, the agents — is orch as it comes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_controllers::{Action, Controller, Informers, Latch, ReconcileContext, Reconciler, Runtime};
use orch_core::kinds::{Container, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::{Api, ObjectMeta, ObjectStore, OwnerReference, Resource, StoreError};
use orch_node::runtime::FakeRuntime;
use orch_node::{AgentConfig, NodeAgent};
use orch_sched::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PluginConfig, PluginRegistry, PluginSet, PodInfo, Profile, Scheduler,
    SchedulerConfig, ScorePlugin, Status,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// 1. The kind: `games.example.com/v1 GameServer`, registered like any built-in.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
struct GameServer {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: GameServerSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<GameServerStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
struct GameServerSpec {
    map: String,
    players: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
struct GameServerStatus {
    node: String,
    state: String,
}

orch_core::resource!(
    GameServer,
    group = "games.example.com",
    version = "v1",
    plural = "gameservers",
    scope = Namespaced
);

// 2. The controller: make sure each game server has its pod; report where and how it runs.
struct GameServerController {
    store: Arc<dyn ObjectStore>,
}

#[async_trait]
impl Reconciler for GameServerController {
    type Kind = GameServer;
    type Error = StoreError;

    fn name(&self) -> &str {
        "gameservers"
    }

    async fn reconcile(&self, gs: Arc<GameServer>, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        let pods: Api<Pod> = Api::namespaced(self.store.clone(), ctx.key.namespace_str());
        let name = format!("gs-{}", ctx.key.name);
        let pod = match pods.get_opt(&name).await? {
            Some(pod) => pod,
            None => {
                let uid = gs.metadata.uid.clone().unwrap_or_default();
                let mut pod =
                    Pod { metadata: ObjectMeta::named(&name).with_label("map", &gs.spec.map), ..Default::default() };
                pod.metadata.owner_references.push(OwnerReference::controller_of(
                    GameServer::api_version(),
                    GameServer::KIND,
                    &ctx.key.name,
                    uid,
                ));
                let args = vec!["--map".into(), gs.spec.map.clone(), "--players".into(), gs.spec.players.to_string()];
                pod.spec.containers.push(Container {
                    name: "server".into(),
                    image: "game-server".into(),
                    args,
                    ..Default::default()
                });
                pods.create(&pod).await?
            }
        };
        let state = pod.status.phase.clone().unwrap_or_else(|| "Pending".into());
        let status = GameServerStatus { node: pod.spec.node_name.unwrap_or_default(), state };
        if gs.status.as_ref() != Some(&status) {
            let mut updated = (*gs).clone();
            updated.status = Some(status);
            Api::<GameServer>::namespaced(self.store.clone(), ctx.key.namespace_str()).update_status(&updated).await?;
        }
        Ok(Action::await_change())
    }
}

// 3. The scheduler plugin: score a node by how many servers of the same map it already runs.
struct PackByMap;

impl Plugin for PackByMap {
    fn name(&self) -> &str {
        "PackByMap"
    }
}

impl ScorePlugin for PackByMap {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let map = pod.pod.metadata.labels.get("map");
        let same = node.pods().iter().filter(|p| p.pod.metadata.labels.get("map") == map).count() as i64;
        Ok((same * 25).min(MAX_NODE_SCORE))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = orch_store::Registry::in_memory().await?;
    registry.register_kind::<GameServer>()?;
    let store: Arc<dyn ObjectStore> = Arc::new(registry);

    // The controller, owning the pods it makes (their changes requeue their game server).
    let informers = Informers::new(store.clone(), Runtime::tokio());
    let controller = Controller::new(GameServerController { store: store.clone() }, &informers).owns::<Pod>();
    let stop = Latch::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { controller.run(stop).await }
    });

    // The scheduler: the default plugins plus PackByMap, weighted to dominate spreading.
    let mut plugins = PluginRegistry::with_defaults();
    plugins.register("PackByMap", |_args, _ctx| Ok(PluginSet::default().score(Arc::new(PackByMap))))?;
    let profile = Profile::default_profile().with_plugin(PluginConfig::new("PackByMap").weight(20));
    let config = SchedulerConfig::default().profiles(vec![profile]);
    let scheduler =
        Scheduler::new(store.clone(), Arc::new(SystemClock), Arc::new(TokioSpawn::current()), config, plugins)?;
    scheduler.start();

    // Three simulated nodes: real node agents whose containers are scripted, not run.
    let mut agents = Vec::new();
    for i in 1..=3 {
        let config = AgentConfig::new(format!("node-{i}")).log_port(None);
        agents
            .push(NodeAgent::new(config, store.clone(), Arc::new(FakeRuntime::new(Default::default()))).start().await?);
    }

    let servers: Api<GameServer> = Api::namespaced(store.clone(), "default");
    for (name, map) in
        [("arena-1", "arena"), ("docks-1", "docks"), ("arena-2", "arena"), ("docks-2", "docks"), ("arena-3", "arena")]
    {
        let spec = GameServerSpec { map: map.into(), players: 16 };
        servers.create(&GameServer { metadata: ObjectMeta::named(name), spec, status: None }).await?;
        tokio::time::sleep(Duration::from_millis(50)).await; // one at a time, so packing shows
    }
    let mut all_running = false;
    for _ in 0..200 {
        let list = servers.list(&Default::default()).await?.items;
        all_running = list.iter().all(|g| g.status.as_ref().is_some_and(|s| s.state == "Running"));
        if all_running {
            for g in list {
                let s = g.status.unwrap_or_default();
                println!("{:<8} map {:<6} -> {} ({})", g.metadata.name_str(), g.spec.map, s.node, s.state);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for a in agents {
        a.stop().await;
    }
    scheduler.stop();
    stop.set();
    running.await?;
    if all_running { Ok(()) } else { Err("the game servers did not all reach Running within 10 s".into()) }
}
