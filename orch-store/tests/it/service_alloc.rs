//! ClusterIP and NodePort allocation in the Registry: distinct under concurrency, requested
//! values honoured or refused clearly, freed on delete and type change, clear when exhausted,
//! and nothing leaked by a crash (claims are written in the Service's own transaction).

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::future::join_all;
use orch_core::kinds::{Service, ServicePort};
use orch_core::runtime::{ManualClock, TokioSpawn};
use orch_core::store::{Api, ObjectStore};
use orch_core::{ObjectMeta, Patch, StoreError};
use orch_store::Registry;
use orch_store::durable::{DurableKv, DurableKvConfig, FaultyFs};
use orch_store::kv::{KvStore, RangeRequest};
use orch_store::registry::{IP_CLAIMS, PORT_CLAIMS, RegistryConfig, ServiceRanges};
use serde_json::json;

fn service(name: &str, type_: &str) -> Service {
    let mut svc = Service { metadata: ObjectMeta::named(name), ..Default::default() };
    svc.spec.type_ = Some(type_.into());
    svc.spec.ports.push(ServicePort { port: 80, ..Default::default() });
    svc
}

async fn registry(ranges: ServiceRanges) -> Registry {
    let kv: Arc<dyn KvStore> = Arc::new(orch_store::mem::MemKv::new());
    Registry::builder(kv, Arc::new(orch_core::runtime::SystemClock), Arc::new(TokioSpawn::current()))
        .config(RegistryConfig::default().service_ranges(ranges))
        .build()
        .await
        .unwrap()
}

async fn claims(kv: &dyn KvStore, prefix: &str) -> BTreeSet<String> {
    let resp = kv.range(RangeRequest::prefix(prefix.to_owned())).await.unwrap();
    resp.kvs.iter().map(|kv| String::from_utf8_lossy(&kv.key[prefix.len()..]).into_owned()).collect()
}

fn invalid_field(err: &StoreError) -> String {
    match err {
        StoreError::Invalid { errors, .. } => errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_addresses_and_ports() {
    let reg = registry(ServiceRanges::default()).await;
    let store: Arc<dyn ObjectStore> = Arc::new(reg.clone());
    let api: Api<Service> = Api::namespaced(store, "default");
    let created = join_all((0..1000).map(|i| {
        let api = api.clone();
        async move { api.create(&service(&format!("s{i}"), "NodePort")).await }
    }))
    .await;
    let mut ips = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for svc in created {
        let svc = svc.expect("create");
        let ip = svc.spec.cluster_ip.clone().expect("clusterIP");
        assert!(ServiceRanges::default().contains_ip(ip.parse().unwrap()), "{ip} in range");
        assert_eq!(svc.spec.cluster_ips, std::slice::from_ref(&ip));
        let np = svc.spec.ports[0].node_port.expect("nodePort");
        assert!((30000..=32767).contains(&np), "{np}");
        assert!(ips.insert(ip), "distinct IPs");
        assert!(ports.insert(np), "distinct ports");
    }
    assert_eq!(claims(reg.kv().as_ref(), IP_CLAIMS).await.len(), 1000);
    assert_eq!(claims(reg.kv().as_ref(), PORT_CLAIMS).await.len(), 1000);
}

#[tokio::test]
async fn requested_values_are_honoured_or_refused_naming_the_field() {
    let reg = registry(ServiceRanges::default()).await;
    let api: Api<Service> = Api::namespaced(Arc::new(reg.clone()), "default");
    let mut a = service("a", "NodePort");
    a.spec.cluster_ip = Some("127.192.5.5".into());
    a.spec.ports[0].node_port = Some(31000);
    let a = api.create(&a).await.unwrap();
    assert_eq!((a.spec.cluster_ip.as_deref(), a.spec.ports[0].node_port), (Some("127.192.5.5"), Some(31000)));

    let cases: Vec<(Service, &str)> = vec![
        (
            {
                let mut s = service("b", "ClusterIP");
                s.spec.cluster_ip = Some("127.192.5.5".into());
                s
            },
            "spec.clusterIP: 127.192.5.5 is already allocated",
        ),
        (
            {
                let mut s = service("c", "ClusterIP");
                s.spec.cluster_ip = Some("10.0.0.1".into());
                s
            },
            "not in the service range 127.192.0.0/12",
        ),
        (
            {
                let mut s = service("d", "ClusterIP");
                s.spec.cluster_ip = Some("nope".into());
                s
            },
            "spec.clusterIP: \"nope\" is not a valid IP address",
        ),
        (
            {
                let mut s = service("e", "NodePort");
                s.spec.ports[0].node_port = Some(31000);
                s
            },
            "spec.ports[0].nodePort: 31000 is already allocated",
        ),
        (
            {
                let mut s = service("f", "NodePort");
                s.spec.ports[0].node_port = Some(80);
                s
            },
            "not in the node port range 30000-32767",
        ),
        (
            {
                let mut s = service("g", "ClusterIP");
                s.spec.ports[0].node_port = Some(31001);
                s
            },
            "may not be used when `type` is \"ClusterIP\"",
        ),
    ];
    for (svc, want) in cases {
        let err = api.create(&svc).await.expect_err(want);
        assert!(invalid_field(&err).contains(want), "{} vs {want}", invalid_field(&err));
    }
    let mut headless = service("h", "ClusterIP");
    headless.spec.cluster_ip = Some("None".into());
    assert_eq!(api.create(&headless).await.unwrap().spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(
        claims(reg.kv().as_ref(), IP_CLAIMS).await,
        BTreeSet::from(["127.192.5.5".to_string()]),
        "refused creates claim nothing"
    );
}

#[tokio::test]
async fn delete_and_type_change_free_what_they_held() {
    let reg = registry(ServiceRanges::default()).await;
    let api: Api<Service> = Api::namespaced(Arc::new(reg.clone()), "default");
    let a = api.create(&service("a", "NodePort")).await.unwrap();
    let ip = a.spec.cluster_ip.clone().unwrap();
    let np = a.spec.ports[0].node_port.unwrap();

    // An update that omits the addresses keeps them; changing the IP is refused.
    let mut same = service("a", "NodePort");
    same.metadata.resource_version = a.metadata.resource_version.clone();
    let kept = api.update(&same).await.unwrap();
    assert_eq!((kept.spec.cluster_ip.clone(), kept.spec.ports[0].node_port), (Some(ip.clone()), Some(np)));
    let err = api
        .patch("a", &Patch::Merge(json!({"spec": {"clusterIP": "127.192.9.9", "clusterIPs": ["127.192.9.9"]}})))
        .await
        .unwrap_err();
    assert!(invalid_field(&err).contains("field is immutable"), "{err}");

    // NodePort → ClusterIP drops the node port and frees it.
    let plain = api.patch("a", &Patch::Merge(json!({"spec": {"type": "ClusterIP"}}))).await.unwrap();
    assert_eq!(plain.spec.ports[0].node_port, None);
    assert!(claims(reg.kv().as_ref(), PORT_CLAIMS).await.is_empty());
    let mut b = service("b", "NodePort");
    b.spec.ports[0].node_port = Some(np as i32);
    api.create(&b).await.expect("the freed port can be requested again");

    api.delete("a", &Default::default()).await.unwrap();
    assert!(!claims(reg.kv().as_ref(), IP_CLAIMS).await.contains(&ip));
    let mut c = service("c", "ClusterIP");
    c.spec.cluster_ip = Some(ip.clone());
    assert_eq!(api.create(&c).await.unwrap().spec.cluster_ip, Some(ip), "the freed IP can be requested again");
}

#[tokio::test]
async fn exhausted_ranges_give_a_clear_error_and_recover_after_delete() {
    let ranges = ServiceRanges::new("127.200.0.0".parse().unwrap(), 29, 31000, 31002).unwrap();
    let reg = registry(ranges).await;
    let api: Api<Service> = Api::namespaced(Arc::new(reg.clone()), "default");
    for i in 0..3 {
        api.create(&service(&format!("np{i}"), "NodePort")).await.unwrap();
    }
    let err = api.create(&service("np3", "NodePort")).await.unwrap_err();
    assert!(invalid_field(&err).contains("no free port is left in the node port range 31000-31002"), "{err}");
    for i in 0..3 {
        api.create(&service(&format!("ip{i}"), "ClusterIP")).await.unwrap();
    }
    let err = api.create(&service("ip3", "ClusterIP")).await.unwrap_err();
    assert!(invalid_field(&err).contains("no free address is left in the service range 127.200.0.0/29"), "{err}");
    api.delete("ip0", &Default::default()).await.unwrap();
    api.create(&service("ip3", "ClusterIP")).await.expect("a freed address is reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cut_during_creates_leaves_claims_and_services_in_step() {
    let fs = FaultyFs::new();
    let clock = Arc::new(ManualClock::new());
    let open = || {
        let kv = DurableKv::open(
            "/db",
            DurableKvConfig::default(),
            clock.clone(),
            Arc::new(TokioSpawn::current()),
            Arc::new(fs.clone()),
        )
        .unwrap();
        Arc::new(kv)
    };
    for trial in 0..5 {
        let kv = open();
        let reg = Registry::builder(kv.clone(), clock.clone(), Arc::new(TokioSpawn::current())).build().await.unwrap();
        let api: Api<Service> = Api::namespaced(Arc::new(reg.clone()), "default");
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let api = api.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let name = format!("t{trial}-w{w}-{i}");
                        if api.create(&service(&name, "NodePort")).await.is_err() {
                            return;
                        }
                        if i % 3 == 0 && api.delete(&name, &Default::default()).await.is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20 + 10 * trial)).await;
        fs.power_cut();
        for w in writers {
            w.await.unwrap();
        }
        kv.close();
        drop((api, reg, kv));
        let kv = open();
        let reg = Registry::builder(kv.clone(), clock.clone(), Arc::new(TokioSpawn::current())).build().await.unwrap();
        let services =
            Api::<Service>::namespaced(Arc::new(reg.clone()), "default").list(&Default::default()).await.unwrap();
        let held_ips: BTreeSet<String> = services.items.iter().filter_map(|s| s.spec.cluster_ip.clone()).collect();
        let held_ports: BTreeSet<String> =
            services.items.iter().filter_map(|s| s.spec.ports[0].node_port).map(|p| p.to_string()).collect();
        assert_eq!(claims(kv.as_ref(), IP_CLAIMS).await, held_ips, "trial {trial}: IP claims match the services");
        assert_eq!(claims(kv.as_ref(), PORT_CLAIMS).await, held_ports, "trial {trial}: port claims match the services");
        kv.close();
    }
}
