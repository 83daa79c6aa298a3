//! Node podCIDRs and LoadBalancer addresses: unique under concurrency, released on delete.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use orch_controllers::controllers::load_balancer::{LB_FINALIZER, LoadBalancerController, PoolProvider};
use orch_controllers::controllers::node_ipam::{NodeIpamConfig, NodeIpamController};
use orch_controllers::{Controller, ControllerConfig, Latch};
use orch_core::kinds::{Node, Service, ServicePort};
use orch_core::{Api, ObjectMeta};

use crate::sim::Sim;

#[test]
fn pod_cidrs_are_unique_under_concurrency_and_released_on_delete() {
    let sim = Sim::new();
    let informers = sim.informers();
    let ipam = Arc::new(NodeIpamController::new(&informers, NodeIpamConfig::default()).expect("range"));
    let c = Controller::from_arc(ipam.clone(), &informers).config(ControllerConfig::default().workers(8));
    sim.start("ipam", async move { c.run(Latch::new()).await });
    let nodes: Api<Node> = Api::all(sim.store.clone());
    let create = (0..40).map(|i| {
        let nodes = nodes.clone();
        async move { nodes.create(&Node { metadata: ObjectMeta::named(format!("n{i}")), ..Default::default() }).await }
    });
    for r in sim.block_on(join_all(create)) {
        r.expect("create node");
    }
    sim.run_for(Duration::from_secs(2));
    let list = sim.block_on(nodes.list(&Default::default())).expect("list").items;
    let cidrs: BTreeSet<String> = list.iter().filter_map(|n| n.spec.pod_cidr.clone()).collect();
    assert_eq!(cidrs.len(), 40, "every node has its own /24");
    assert!(cidrs.iter().all(|c| c.starts_with("127.") && c.ends_with("/24")));
    assert_eq!(ipam.allocated(), 40);

    for i in 0..10 {
        sim.block_on(nodes.delete(&format!("n{i}"), &Default::default())).expect("delete");
    }
    sim.run_for(Duration::from_secs(2));
    assert_eq!(ipam.allocated(), 30, "released on delete");
    sim.block_on(nodes.create(&Node { metadata: ObjectMeta::named("late"), ..Default::default() })).expect("late");
    sim.run_for(Duration::from_secs(2));
    let late = sim.block_on(nodes.get("late")).expect("get").spec.pod_cidr.expect("cidr");
    let others: BTreeSet<String> = sim
        .block_on(nodes.list(&Default::default()))
        .expect("list")
        .items
        .iter()
        .filter(|n| n.metadata.name_str() != "late")
        .filter_map(|n| n.spec.pod_cidr.clone())
        .collect();
    assert!(!others.contains(&late));
}

#[test]
fn a_restarted_ipam_never_hands_out_a_cidr_already_on_a_node() {
    let sim = Sim::new();
    let nodes: Api<Node> = Api::all(sim.store.clone());
    let mut taken = Node { metadata: ObjectMeta::named("old"), ..Default::default() };
    taken.spec.pod_cidr = Some("127.64.0.0/24".into());
    sim.block_on(nodes.create(&taken)).expect("old");
    sim.block_on(nodes.create(&Node { metadata: ObjectMeta::named("new"), ..Default::default() })).expect("new");
    let informers = sim.informers();
    let ipam = NodeIpamController::new(&informers, NodeIpamConfig::default()).expect("range");
    let c = Controller::new(ipam, &informers);
    sim.start("ipam", async move { c.run(Latch::new()).await });
    sim.run_for(Duration::from_secs(2));
    let cidr = sim.block_on(nodes.get("new")).expect("get").spec.pod_cidr;
    assert_eq!(cidr.as_deref(), Some("127.64.1.0/24"));
}

fn lb_service(name: &str) -> Service {
    let mut s = Service { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    s.spec.type_ = Some("LoadBalancer".into());
    s.spec.ports.push(ServicePort { port: 80, ..Default::default() });
    s
}

#[test]
fn load_balancer_addresses_are_unique_under_concurrency_and_released_on_delete() {
    let sim = Sim::new();
    let informers = sim.informers();
    let provider = Arc::new(PoolProvider::default_pool());
    let lb = LoadBalancerController::new(&informers, provider.clone());
    let c = Controller::new(lb, &informers).config(ControllerConfig::default().workers(8));
    sim.start("lb", async move { c.run(Latch::new()).await });
    let api: Api<Service> = Api::namespaced(sim.store.clone(), "default");
    let create = (0..30).map(|i| {
        let api = api.clone();
        async move { api.create(&lb_service(&format!("s{i}"))).await }
    });
    for r in sim.block_on(join_all(create)) {
        r.expect("create service");
    }
    let mut plain = lb_service("plain");
    plain.spec.type_ = Some("ClusterIP".into());
    sim.block_on(api.create(&plain)).expect("plain");
    sim.run_for(Duration::from_secs(2));
    let svcs = sim.block_on(api.list(&Default::default())).expect("list").items;
    let ips: BTreeSet<String> =
        svcs.iter().filter_map(|s| s.status.as_ref()?.load_balancer.as_ref()?.ingress.first()?.ip.clone()).collect();
    assert_eq!(ips.len(), 30, "each LoadBalancer Service has its own address");
    assert!(ips.iter().all(|ip| ip.starts_with("127.240.")));
    assert!(svcs.iter().find(|s| s.metadata.name_str() == "plain").is_some_and(|s| s.status.is_none()));
    assert!(
        svcs.iter()
            .filter(|s| s.metadata.name_str() != "plain")
            .all(|s| s.metadata.finalizers.contains(&LB_FINALIZER.to_string()))
    );

    for i in 0..10 {
        sim.block_on(api.delete(&format!("s{i}"), &Default::default())).expect("delete");
    }
    let mut s10 = sim.block_on(api.get("s10")).expect("get");
    s10.spec.type_ = Some("ClusterIP".into());
    sim.block_on(api.update(&s10)).expect("demote");
    sim.run_for(Duration::from_secs(2));
    assert_eq!(provider.allocated(), 19, "released on delete and when no longer a LoadBalancer");
    let left = sim.block_on(api.list(&Default::default())).expect("list").items;
    assert_eq!(left.len(), 21, "deleted Services are gone once their finalizer is removed");
    let s10 = left.iter().find(|s| s.metadata.name_str() == "s10").expect("s10");
    assert!(s10.metadata.finalizers.is_empty() && s10.status.as_ref().and_then(|s| s.load_balancer.as_ref()).is_none());
}
