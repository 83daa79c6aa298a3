//! Realistic manifests of every built-in kind parse into the typed kinds and back without loss.

use orch_core::kinds::{Deployment, Endpoints, Event, Lease, Namespace, Node, Pod, ReplicaSet, Service};
use orch_core::{DynamicObject, KindRegistry, Resource, manifest};
use serde_json::Value;

const FIXTURES: &[(&str, &str)] = &[
    ("deployment.yaml", include_str!("../fixtures/deployment.yaml")),
    ("service.yaml", include_str!("../fixtures/service.yaml")),
    ("pod.yaml", include_str!("../fixtures/pod.yaml")),
    ("cluster.yaml", include_str!("../fixtures/cluster.yaml")),
];

fn through<K: Resource>(obj: &DynamicObject) -> Value {
    let typed: K = obj.to_typed().unwrap_or_else(|e| panic!("{} {} does not decode: {e}", K::KIND, obj.name()));
    DynamicObject::from_typed(&typed).expect("typed kinds encode").to_value()
}

fn typed_round_trip(obj: &DynamicObject) -> Value {
    match obj.types.kind.as_str() {
        "Deployment" => through::<Deployment>(obj),
        "ReplicaSet" => through::<ReplicaSet>(obj),
        "Pod" => through::<Pod>(obj),
        "Service" => through::<Service>(obj),
        "Endpoints" => through::<Endpoints>(obj),
        "Node" => through::<Node>(obj),
        "Namespace" => through::<Namespace>(obj),
        "Lease" => through::<Lease>(obj),
        "Event" => through::<Event>(obj),
        other => panic!("fixture has unexpected kind {other}"),
    }
}

#[test]
fn every_builtin_kind_survives_typed_round_trip_without_loss() {
    let mut kinds_seen = std::collections::BTreeSet::new();
    for (file, text) in FIXTURES {
        for obj in manifest::parse(text).unwrap_or_else(|e| panic!("{file}: {e}")) {
            kinds_seen.insert(obj.types.kind.clone());
            let original = obj.to_value();
            let back = typed_round_trip(&obj);
            assert_eq!(original, back, "{file}: {} {} changed in the round trip", obj.types.kind, obj.name());
        }
    }
    assert_eq!(kinds_seen.len(), 9, "fixtures cover every built-in kind: {kinds_seen:?}");
}

#[test]
fn yaml_and_json_renderings_parse_back_to_the_same_objects() {
    for (file, text) in FIXTURES {
        let objs = manifest::parse(text).unwrap();
        let yaml = manifest::to_yaml(&objs);
        assert_eq!(manifest::parse(&yaml).unwrap(), objs, "{file} via YAML");
        let json = serde_json::to_string(&objs.iter().map(DynamicObject::to_value).collect::<Vec<_>>()).unwrap();
        assert_eq!(manifest::parse(&json).unwrap(), objs, "{file} via a JSON array");
    }
}

#[test]
fn realistic_manifests_pass_kind_lookup_and_validation() {
    let kinds = KindRegistry::with_builtins();
    for (file, text) in FIXTURES {
        manifest::parse_checked(&kinds, text).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn deployment_fields_decode_to_the_values_written() {
    let d: Vec<Deployment> = manifest::parse_typed(FIXTURES[0].1).unwrap();
    let d = &d[0];
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(d.spec.strategy.max_surge(3), 1, "25% of 3 rounds up");
    assert_eq!(d.spec.strategy.max_unavailable(3), 1);
    let c = &d.spec.template.spec.containers[0];
    assert_eq!(c.env[1].value_from.as_ref().unwrap().field_ref.as_ref().unwrap().field_path, "metadata.name");
    assert_eq!(c.resources.limits["memory"].0, "128Mi");
    assert_eq!(d.status.as_ref().unwrap().conditions[0].type_, "Available");
}

#[test]
fn numeric_quantities_are_read_and_written_as_strings() {
    let nodes: Vec<Node> = manifest::parse_typed(
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: 4, memory: 1.5}}\n",
    )
    .unwrap();
    assert_eq!(nodes[0].status.capacity["cpu"].0, "4");
    assert_eq!(nodes[0].status.capacity["memory"].0, "1.5");
}
