//! Endpoints follow pods; deleting a Namespace deletes its content first.

use std::time::Duration;

use orch_controllers::controllers::endpoints::EndpointsController;
use orch_controllers::controllers::namespace::NamespaceController;
use orch_controllers::{Controller, Latch};
use orch_core::kinds::{Condition, Endpoints, Namespace, Pod, Service, ServicePort};
use orch_core::{Api, ObjectMeta};

use crate::sim::Sim;

fn pod(name: &str, ip: &str, ready: bool) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).with_label("app", "web"), ..Default::default() };
    p.spec.containers.push(orch_core::kinds::Container { name: "c".into(), image: "i".into(), ..Default::default() });
    p.status.pod_ip = Some(ip.into());
    p.status.conditions.push(Condition::new("Ready", ready));
    p
}

#[test]
fn endpoints_list_ready_pods_apart_from_not_ready_ones_and_follow_changes() {
    let sim = Sim::new();
    let informers = sim.informers();
    let c = EndpointsController::controller(&informers);
    sim.start("endpoints", async move { c.run(Latch::new()).await });
    let pods: Api<Pod> = Api::namespaced(sim.store.clone(), "default");
    for (n, ip, ready) in [("a", "127.64.0.2", true), ("b", "127.64.0.3", true), ("c", "127.64.0.4", false)] {
        let created = sim.block_on(pods.create(&pod(n, ip, ready))).expect("pod");
        let mut with_status = pod(n, ip, ready);
        with_status.metadata = created.metadata;
        sim.block_on(pods.update_status(&with_status)).expect("status");
    }
    let mut svc = Service { metadata: ObjectMeta::named("web").in_namespace("default"), ..Default::default() };
    svc.spec.selector.insert("app".into(), "web".into());
    svc.spec.ports.push(ServicePort { port: 80, target_port: Some(8080.into()), ..Default::default() });
    sim.block_on(Api::<Service>::namespaced(sim.store.clone(), "default").create(&svc)).expect("svc");
    sim.run_for(Duration::from_secs(1));
    let eps: Api<Endpoints> = Api::namespaced(sim.store.clone(), "default");
    let ep = sim.block_on(eps.get("web")).expect("endpoints");
    let ips = |ep: &Endpoints| -> (Vec<String>, Vec<String>) {
        let s = &ep.subsets[0];
        (
            s.addresses.iter().map(|a| a.ip.clone()).collect(),
            s.not_ready_addresses.iter().map(|a| a.ip.clone()).collect(),
        )
    };
    assert_eq!(ips(&ep), (vec!["127.64.0.2".into(), "127.64.0.3".into()], vec!["127.64.0.4".into()]));
    assert_eq!(ep.subsets[0].ports[0].port, 8080);

    let mut c = sim.block_on(pods.get("c")).expect("c");
    c.status.conditions = vec![Condition::new("Ready", true)];
    sim.block_on(pods.update_status(&c)).expect("ready");
    sim.block_on(pods.delete("a", &Default::default())).expect("delete a");
    sim.settle();
    let ep = sim.block_on(eps.get("web")).expect("endpoints");
    assert_eq!(ips(&ep), (vec!["127.64.0.3".into(), "127.64.0.4".into()], vec![]));

    sim.block_on(Api::<Service>::namespaced(sim.store.clone(), "default").delete("web", &Default::default()))
        .expect("svc");
    sim.settle();
    assert!(sim.block_on(eps.get_opt("web")).expect("get").is_none(), "removed with its Service");
}

#[test]
fn deleting_a_namespace_deletes_its_content_then_the_namespace() {
    let sim = Sim::new();
    let informers = sim.informers();
    let c = Controller::new(NamespaceController::new(&informers), &informers);
    sim.start("namespace", async move { c.run(Latch::new()).await });
    let namespaces: Api<Namespace> = Api::all(sim.store.clone());
    sim.block_on(namespaces.create(&Namespace { metadata: ObjectMeta::named("team"), ..Default::default() }))
        .expect("ns");
    sim.run_for(Duration::from_secs(1));
    let pods: Api<Pod> = Api::namespaced(sim.store.clone(), "team");
    for n in ["a", "b"] {
        sim.block_on(pods.create(&pod(n, "127.64.0.9", true))).expect("pod");
    }
    let mut svc = Service { metadata: ObjectMeta::named("s"), ..Default::default() };
    svc.spec.ports.push(ServicePort { port: 80, ..Default::default() });
    sim.block_on(Api::<Service>::namespaced(sim.store.clone(), "team").create(&svc)).expect("svc");
    let pending = sim.block_on(namespaces.delete("team", &Default::default())).expect("delete");
    assert!(pending.is_some(), "held until its content is gone");
    sim.run_for(Duration::from_secs(5));
    assert!(sim.block_on(namespaces.get_opt("team")).expect("get").is_none());
    assert!(sim.block_on(pods.list(&Default::default())).expect("pods").items.is_empty());
    assert!(sim.block_on(namespaces.get_opt("default")).expect("get").is_some_and(|d| !d.metadata.is_deleting()));
}
