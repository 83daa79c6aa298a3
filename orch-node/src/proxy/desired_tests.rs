//! Table-driven tests of `desired_rules` and `plan_changes`.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

fn ctx() -> RuleContext {
    RuleContext {
        node_addresses: vec!["127.1.0.1".parse().unwrap(), "127.1.0.2".parse().unwrap()],
        default_affinity_timeout: Duration::from_secs(10800),
    }
}

fn svc(spec: Value, status: Value) -> Service {
    serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": spec, "status": status}))
        .unwrap()
}

fn eps(subsets: Value) -> Endpoints {
    serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns"}, "subsets": subsets})).unwrap()
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

struct Case {
    name: &'static str,
    spec: Value,
    status: Value,
    subsets: Option<Value>,
    /// (port name, frontends, backends) per expected rule.
    want: Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)>,
}

#[test]
fn desired_rules_cover_every_service_shape() {
    let one_ready = json!([{"addresses": [{"ip": "127.64.0.2"}, {"ip": "127.64.0.1"}],
                            "notReadyAddresses": [{"ip": "127.64.0.9"}], "ports": [{"port": 8080}]}]);
    let cases = vec![
        Case {
            name: "cluster ip with ready endpoints, not-ready ones left out, sorted",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [{"port": 80, "targetPort": 8080}]}),
            status: json!({}),
            subsets: Some(one_ready.clone()),
            want: vec![("", vec!["127.192.0.10:80"], vec!["127.64.0.1:8080", "127.64.0.2:8080"])],
        },
        Case {
            name: "no endpoints object yet means no backends",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [{"port": 80}]}),
            status: json!({}),
            subsets: None,
            want: vec![("", vec!["127.192.0.10:80"], vec![])],
        },
        Case {
            name: "node port on every node address",
            spec: json!({"type": "NodePort", "clusterIP": "127.192.0.10",
                         "ports": [{"port": 80, "nodePort": 30080}]}),
            status: json!({}),
            subsets: Some(one_ready.clone()),
            want: vec![(
                "",
                vec!["127.1.0.1:30080", "127.1.0.2:30080", "127.192.0.10:80"],
                vec!["127.64.0.1:8080", "127.64.0.2:8080"],
            )],
        },
        Case {
            name: "node port ignored on a ClusterIP service",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [{"port": 80, "nodePort": 30080}]}),
            status: json!({}),
            subsets: None,
            want: vec![("", vec!["127.192.0.10:80"], vec![])],
        },
        Case {
            name: "load balancer ingress and node ports",
            spec: json!({"type": "LoadBalancer", "clusterIP": "127.192.0.10",
                         "ports": [{"port": 80, "nodePort": 30081}]}),
            status: json!({"loadBalancer": {"ingress": [{"ip": "127.240.0.1"}, {"hostname": "x"}]}}),
            subsets: None,
            want: vec![("", vec!["127.1.0.1:30081", "127.1.0.2:30081", "127.192.0.10:80", "127.240.0.1:80"], vec![])],
        },
        Case {
            name: "named ports match endpoint ports by name",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [
                {"name": "http", "port": 80, "targetPort": "web"},
                {"name": "metrics", "port": 9090, "targetPort": "prom"}]}),
            status: json!({}),
            subsets: Some(json!([{"addresses": [{"ip": "127.64.0.1"}],
                                  "ports": [{"name": "metrics", "port": 9100}, {"name": "http", "port": 8081}]}])),
            want: vec![
                ("http", vec!["127.192.0.10:80"], vec!["127.64.0.1:8081"]),
                ("metrics", vec!["127.192.0.10:9090"], vec!["127.64.0.1:9100"]),
            ],
        },
        Case {
            name: "subsets with different resolved ports are merged",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}),
            status: json!({}),
            subsets: Some(json!([
                {"addresses": [{"ip": "127.64.0.1"}], "ports": [{"name": "http", "port": 8081}]},
                {"addresses": [{"ip": "127.64.0.2"}], "ports": [{"name": "http", "port": 8082}]}])),
            want: vec![("http", vec!["127.192.0.10:80"], vec!["127.64.0.1:8081", "127.64.0.2:8082"])],
        },
        Case {
            name: "headless service is not proxied",
            spec: json!({"clusterIP": "None", "ports": [{"port": 80}]}),
            status: json!({}),
            subsets: Some(one_ready.clone()),
            want: vec![],
        },
        Case {
            name: "external name service is not proxied",
            spec: json!({"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]}),
            status: json!({}),
            subsets: None,
            want: vec![],
        },
        Case {
            name: "sctp port skipped, udp port kept",
            spec: json!({"clusterIP": "127.192.0.10", "ports": [
                {"name": "s", "port": 1, "protocol": "SCTP"}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
            status: json!({}),
            subsets: Some(json!([{"addresses": [{"ip": "127.64.0.1"}],
                                  "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"}]}])),
            want: vec![("dns", vec!["127.192.0.10:53"], vec!["127.64.0.1:5353"])],
        },
    ];
    for c in cases {
        let s = svc(c.spec, c.status);
        let e = c.subsets.map(eps);
        let got = desired_rules(&s, e.as_ref(), &ctx());
        let got: Vec<(String, Vec<SocketAddr>, Vec<SocketAddr>)> =
            got.into_iter().map(|r| (r.key.port, r.frontends, r.backends)).collect();
        let want: Vec<(String, Vec<SocketAddr>, Vec<SocketAddr>)> =
            c.want.into_iter().map(|(n, f, b)| (n.to_string(), addrs(&f), addrs(&b))).collect();
        assert_eq!(got, want, "case: {}", c.name);
    }
}

#[test]
fn client_ip_affinity_uses_the_service_timeout_or_the_default() {
    let cases = [
        (json!({"sessionAffinity": "ClientIP"}), Affinity::ClientIp { timeout: Duration::from_secs(10800) }),
        (
            json!({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}),
            Affinity::ClientIp { timeout: Duration::from_secs(60) },
        ),
        (json!({"sessionAffinity": "None"}), Affinity::None),
        (json!({}), Affinity::None),
    ];
    for (extra, want) in cases {
        let mut spec = json!({"clusterIP": "127.192.0.10", "ports": [{"port": 80}]});
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let rules = desired_rules(&svc(spec, json!({})), None, &ctx());
        assert_eq!(rules[0].affinity, want);
    }
}

#[test]
fn plan_changes_upserts_changed_rules_and_removes_vanished_ones() {
    let rule = |port: &str, backend: &str| ServicePortRule {
        key: ServicePortKey::new("ns", "web", port, Protocol::Tcp),
        frontends: addrs(&["127.192.0.10:80"]),
        backends: addrs(&[backend]),
        affinity: Affinity::None,
    };
    let current = vec![rule("a", "127.64.0.1:1"), rule("b", "127.64.0.1:1"), rule("c", "127.64.0.1:1")];
    let desired = vec![rule("a", "127.64.0.1:1"), rule("b", "127.64.0.2:1"), rule("d", "127.64.0.1:1")];
    let (upserts, removes) = plan_changes(&current, &desired);
    assert_eq!(upserts, vec![rule("b", "127.64.0.2:1"), rule("d", "127.64.0.1:1")]);
    assert_eq!(removes, vec![ServicePortKey::new("ns", "web", "c", Protocol::Tcp)]);
}
