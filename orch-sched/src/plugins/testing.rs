//! Builders of nodes and pods for the plugin tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::ObjectMeta;
use orch_core::kinds::{Container, Node, Pod, Taint, Toleration};

use crate::{CycleState, FilterPlugin, NodeInfo, PodInfo, PreFilterPlugin, Snapshot, Status};

pub(crate) fn node(name: &str, cpu: &str, mem: &str, pods: &str) -> Node {
    let mut n = Node { metadata: ObjectMeta::named(name), ..Default::default() };
    n.status.allocatable =
        BTreeMap::from([("cpu".into(), cpu.into()), ("memory".into(), mem.into()), ("pods".into(), pods.into())]);
    n
}

pub(crate) fn labeled(mut n: Node, labels: &[(&str, &str)]) -> Node {
    for (k, v) in labels {
        n.metadata.labels.insert(k.to_string(), v.to_string());
    }
    n
}

pub(crate) fn tainted(mut n: Node, key: &str, value: &str, effect: &str) -> Node {
    n.spec.taints.push(Taint { key: key.into(), value: Some(value.into()), effect: effect.into(), time_added: None });
    n
}

pub(crate) fn pod(name: &str, cpu: &str, mem: &str) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    let mut c = Container { name: "c".into(), image: "busybox".into(), ..Default::default() };
    if !cpu.is_empty() {
        c.resources.requests.insert("cpu".into(), cpu.into());
    }
    if !mem.is_empty() {
        c.resources.requests.insert("memory".into(), mem.into());
    }
    p.spec.containers.push(c);
    p
}

pub(crate) fn with_labels(mut p: Pod, labels: &[(&str, &str)]) -> Pod {
    for (k, v) in labels {
        p.metadata.labels.insert(k.to_string(), v.to_string());
    }
    p
}

pub(crate) fn tolerating(mut p: Pod, key: &str, effect: &str) -> Pod {
    p.spec.tolerations.push(Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    });
    p
}

pub(crate) fn on(p: Pod, node: &str) -> Arc<PodInfo> {
    let mut p = p;
    p.spec.node_name = Some(node.into());
    Arc::new(PodInfo::new(p))
}

pub(crate) fn info(n: Node, pods: Vec<Arc<PodInfo>>) -> NodeInfo {
    let mut i = NodeInfo::new(n);
    for p in pods {
        i.add_pod(p);
    }
    i
}

/// PreFilter (if any) on the snapshot, then Filter on `node`.
pub(crate) fn run_filter<P: FilterPlugin + PreFilterPlugin>(
    plugin: &P,
    pod: &PodInfo,
    snapshot: &Snapshot,
    node: &str,
) -> Status {
    let mut state = CycleState::new();
    let pre = plugin.pre_filter(&mut state, pod, snapshot);
    if pre.status.is_skip() {
        return Status::success();
    }
    if !pre.status.is_success() {
        return pre.status;
    }
    match snapshot.get(node) {
        Some(n) => plugin.filter(&state, pod, n),
        None => Status::error("no such node"),
    }
}
