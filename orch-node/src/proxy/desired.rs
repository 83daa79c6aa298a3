//! The pure decision: the rules a Service and its Endpoints call for, and how to get there.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use orch_core::kinds::{Endpoints, Service, ServicePort};

use super::{Affinity, Protocol, ServicePortKey, ServicePortRule};

/// What the proxy needs to know beyond the objects: the node addresses it serves and the
/// affinity timeout used when a Service asks for `ClientIP` without one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleContext {
    /// Local node addresses on which NodePorts are served.
    pub node_addresses: Vec<IpAddr>,
    /// Affinity timeout when the Service sets none.
    pub default_affinity_timeout: Duration,
}

/// The rules for one Service and its Endpoints (`None` when none exist yet).
///
/// Frontends: `clusterIP:port` (not for headless Services), `nodeAddress:nodePort` on every
/// node address for `NodePort` and `LoadBalancer` Services, `ingressIP:port` for each
/// load-balancer ingress and each external IP. Backends: the *ready* addresses of every
/// Endpoints subset whose port has the Service port's name (so a named `targetPort`, which the
/// Endpoints controller resolves per pod, works) and protocol. `ExternalName` Services, SCTP
/// ports and unparsable addresses yield nothing.
///
/// ```
/// use orch_core::kinds::Service;
/// use orch_node::proxy::{RuleContext, desired_rules, DEFAULT_AFFINITY_TIMEOUT};
/// let svc: Service = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "namespace": "default"},
///     "spec": {"clusterIP": "127.192.0.10", "ports": [{"port": 80}]}
/// })).unwrap();
/// let ctx = RuleContext { node_addresses: vec![], default_affinity_timeout: DEFAULT_AFFINITY_TIMEOUT };
/// let rules = desired_rules(&svc, None, &ctx);
/// assert_eq!(rules[0].frontends, vec!["127.192.0.10:80".parse().unwrap()]);
/// assert!(rules[0].backends.is_empty());
/// ```
pub fn desired_rules(svc: &Service, endpoints: Option<&Endpoints>, ctx: &RuleContext) -> Vec<ServicePortRule> {
    let type_ = svc.spec.type_.as_deref().unwrap_or("ClusterIP");
    if type_ == "ExternalName" {
        return Vec::new();
    }
    let cluster_ip = svc.spec.cluster_ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
    let node_ports = matches!(type_, "NodePort" | "LoadBalancer");
    let mut extra_ips: Vec<IpAddr> = svc.spec.external_ips.iter().filter_map(|ip| ip.parse().ok()).collect();
    if type_ == "LoadBalancer" {
        let ingress = svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).map(|lb| lb.ingress.as_slice());
        extra_ips.extend(ingress.unwrap_or_default().iter().filter_map(|i| i.ip.as_deref()?.parse::<IpAddr>().ok()));
    }
    let affinity = match svc.spec.session_affinity.as_deref() {
        Some("ClientIP") => {
            let secs = svc.spec.session_affinity_config.as_ref().and_then(|c| c.client_ip.as_ref()?.timeout_seconds);
            let timeout = match secs {
                Some(s) if s > 0 => Duration::from_secs(u64::from(s.unsigned_abs())),
                _ => ctx.default_affinity_timeout,
            };
            Affinity::ClientIp { timeout }
        }
        _ => Affinity::None,
    };
    let namespace = svc.metadata.namespace.as_deref().unwrap_or("default");
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let mut rules = Vec::new();
    for sp in &svc.spec.ports {
        let (Some(protocol), Some(port)) = (Protocol::from_k8s(sp.protocol.as_deref()), port_u16(sp.port)) else {
            continue;
        };
        let mut frontends = Vec::new();
        frontends.extend(cluster_ip.map(|ip| SocketAddr::new(ip, port)));
        if let Some(np) = sp.node_port.and_then(port_u16).filter(|_| node_ports) {
            frontends.extend(ctx.node_addresses.iter().map(|ip| SocketAddr::new(*ip, np)));
        }
        frontends.extend(extra_ips.iter().map(|ip| SocketAddr::new(*ip, port)));
        frontends.sort();
        frontends.dedup();
        if frontends.is_empty() {
            continue;
        }
        let port_name = sp.name.clone().unwrap_or_default();
        rules.push(ServicePortRule {
            key: ServicePortKey::new(namespace, name, &port_name, protocol),
            frontends,
            backends: ready_backends(sp, protocol, endpoints),
            affinity,
        });
    }
    rules
}

/// The ready `ip:port` pairs of the Endpoints for one Service port, matched by port name.
fn ready_backends(sp: &ServicePort, protocol: Protocol, endpoints: Option<&Endpoints>) -> Vec<SocketAddr> {
    let want = sp.name.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    for subset in endpoints.map(|e| e.subsets.as_slice()).unwrap_or_default() {
        let matching = subset.ports.iter().find(|p| {
            p.name.as_deref().unwrap_or_default() == want && Protocol::from_k8s(p.protocol.as_deref()) == Some(protocol)
        });
        let Some(port) = matching.and_then(|p| port_u16(p.port)) else { continue };
        out.extend(subset.addresses.iter().filter_map(|a| Some(SocketAddr::new(a.ip.parse().ok()?, port))));
    }
    out.sort();
    out.dedup();
    out
}

fn port_u16(p: i32) -> Option<u16> {
    u16::try_from(p).ok().filter(|p| *p != 0)
}

/// The changes that turn the `current` rules of a service into the `desired` ones: rules to
/// upsert (new or changed) and keys to remove.
pub fn plan_changes(
    current: &[ServicePortRule],
    desired: &[ServicePortRule],
) -> (Vec<ServicePortRule>, Vec<ServicePortKey>) {
    let upserts = desired.iter().filter(|d| !current.contains(d)).cloned().collect();
    let removes = current.iter().filter(|c| !desired.iter().any(|d| d.key == c.key)).map(|c| c.key.clone()).collect();
    (upserts, removes)
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
