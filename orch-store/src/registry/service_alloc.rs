//! Service address allocation: ClusterIPs and NodePorts claimed by keys written in the same
//! transaction as the Service, so a crash between allocating and storing leaks nothing.
//!
//! A claim is the key `/registry/.allocations/serviceips/{ip}` or
//! `/registry/.allocations/servicenodeports/{port}` (value: the owning service), created with a
//! compare that it does not exist and deleted with the Service, on a type change, or when a
//! port is removed.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

use orch_core::{DynamicObject, FieldError, StoreError};
use serde_json::{Value, json};

use super::Registry;
use super::service_range::ServiceRanges;
use crate::kv::RangeRequest;

/// Prefix of ClusterIP claims.
pub const IP_CLAIMS: &str = "/registry/.allocations/serviceips/";
/// Prefix of NodePort claims.
pub const PORT_CLAIMS: &str = "/registry/.allocations/servicenodeports/";

/// Candidate probes before a full scan of the claims.
const PROBES: u32 = 16;

/// What a write of a Service claims and releases, added to the write's transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Claims {
    /// Keys to create (each compared absent), with the owner as value.
    pub claim: Vec<(String, String)>,
    /// Keys to delete.
    pub release: Vec<String>,
}

impl Claims {
    pub(crate) fn is_empty(&self) -> bool {
        self.claim.is_empty() && self.release.is_empty()
    }
}

/// The addresses an object holds: its ClusterIP (not `None`) and its NodePorts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held {
    ip: Option<Ipv4Addr>,
    ports: BTreeSet<u16>,
}

fn spec(obj: &DynamicObject) -> &Value {
    obj.data.get("spec").unwrap_or(&Value::Null)
}

fn service_type(obj: &DynamicObject) -> &str {
    spec(obj)["type"].as_str().filter(|t| !t.is_empty()).unwrap_or("ClusterIP")
}

pub(crate) fn held(obj: &DynamicObject) -> Held {
    let spec = spec(obj);
    let ip = spec["clusterIP"].as_str().and_then(|s| s.parse().ok());
    let ports = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_u64())
        .filter_map(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .collect();
    Held { ip, ports }
}

/// Claims to release when `obj` is removed.
pub(crate) fn releases_of(obj: &DynamicObject) -> Claims {
    let held = held(obj);
    let release = held
        .ip
        .iter()
        .map(|ip| format!("{IP_CLAIMS}{ip}"))
        .chain(held.ports.iter().map(|p| format!("{PORT_CLAIMS}{p}")))
        .collect();
    Claims { claim: Vec::new(), release }
}

fn invalid(obj: &DynamicObject, field: &str, reason: String) -> StoreError {
    StoreError::Invalid {
        kind: "Service".into(),
        name: obj.name().to_owned(),
        errors: FieldError::invalid(field, reason).into(),
    }
}

/// Prepares an update of a Service before admission, as Kubernetes' service strategy does:
/// addresses the update omits are kept from the stored object, and NodePorts the user left as
/// they were are dropped when the type no longer has them.
pub(crate) fn prepare_update(old: &DynamicObject, new: &mut DynamicObject) {
    let old_spec = spec(old).clone();
    let new_type = service_type(new).to_owned();
    let Some(spec) = new.data.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let omitted = |v: Option<&Value>| {
        v.is_none_or(|v| v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
    };
    for field in ["clusterIP", "clusterIPs"] {
        if omitted(spec.get(field)) && !omitted(old_spec.get(field)) && new_type != "ExternalName" {
            spec.insert(field.into(), old_spec[field].clone());
        }
    }
    if new_type != "NodePort" && new_type != "LoadBalancer" {
        let old_ports = old_spec["ports"].as_array().cloned().unwrap_or_default();
        for port in spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            let unchanged = old_ports.iter().any(|o| o["port"] == port["port"] && o["nodePort"] == port["nodePort"]);
            if let (Some(p), true) = (port.as_object_mut(), unchanged) {
                p.remove("nodePort");
            }
        }
    }
}

/// Round-robin starting points, so consecutive allocations do not probe the same values.
#[derive(Debug, Default)]
pub(crate) struct Cursors {
    ip: AtomicU32,
    port: AtomicU32,
}

impl Registry {
    /// Fills in the ClusterIP and NodePorts of a Service being written over `old` (`None` for a
    /// create) and returns the claims to add to the write's transaction.
    ///
    /// # Errors
    /// `Invalid` naming the field for an address outside the range, already allocated, changed
    /// when immutable, or a range that is full.
    pub(crate) async fn allocate_service(
        &self,
        old: Option<&DynamicObject>,
        new: &mut DynamicObject,
    ) -> Result<Claims, StoreError> {
        let ranges = &self.inner.config.service_ranges;
        let owner = format!("{}/{}", new.metadata.namespace.as_deref().unwrap_or_default(), new.name());
        let old_held = old.map(held).unwrap_or_default();
        let kind = service_type(new).to_owned();
        let mut want = Held::default();

        // ClusterIP.
        let requested = spec(new)["clusterIP"].as_str().unwrap_or_default().to_owned();
        let headless = requested == "None";
        if kind == "ExternalName" {
            if !requested.is_empty() && !headless {
                return Err(invalid(new, "spec.clusterIP", "must be empty for type ExternalName".into()));
            }
        } else if !headless {
            let ip = match (requested.as_str(), old_held.ip) {
                ("", Some(kept)) => kept,
                ("", None) => self.pick_ip(ranges).await.map_err(|r| invalid(new, "spec.clusterIP", r))?,
                (text, kept) => {
                    let ip: Ipv4Addr = text
                        .parse()
                        .map_err(|_| invalid(new, "spec.clusterIP", format!("{text:?} is not a valid IPv4 address")))?;
                    if kept.is_some_and(|k| k != ip) {
                        return Err(invalid(new, "spec.clusterIP", "field is immutable".into()));
                    }
                    if !ranges.contains_ip(ip) {
                        return Err(invalid(
                            new,
                            "spec.clusterIP",
                            format!("{ip} is not in the service range {}", ranges.cidr()),
                        ));
                    }
                    if kept.is_none() && self.claimed(&format!("{IP_CLAIMS}{ip}")).await? {
                        return Err(invalid(new, "spec.clusterIP", format!("{ip} is already allocated")));
                    }
                    ip
                }
            };
            want.ip = Some(ip);
            if let Some(spec) = new.data.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("clusterIP".into(), json!(ip.to_string()));
                spec.insert("clusterIPs".into(), json!([ip.to_string()]));
            }
        } else if old_held.ip.is_some() {
            return Err(invalid(new, "spec.clusterIP", "field is immutable".into()));
        }

        // NodePorts.
        let node_ports = kind == "NodePort" || kind == "LoadBalancer";
        let old_ports: Vec<(i64, String, u16)> = old.map(port_list).unwrap_or_default();
        let count = spec(new)["ports"].as_array().map_or(0, Vec::len);
        for i in 0..count {
            let port = &spec(new)["ports"][i];
            let requested = port["nodePort"].as_u64().unwrap_or(0);
            let field = format!("spec.ports[{i}].nodePort");
            if !node_ports {
                if requested != 0 && old.is_none() {
                    return Err(invalid(new, &field, format!("may not be used when `type` is {kind:?}")));
                }
                if let Some(p) =
                    new.data.get_mut("spec").and_then(|s| s["ports"].get_mut(i)).and_then(Value::as_object_mut)
                {
                    p.remove("nodePort");
                }
                continue;
            }
            let key = (port["port"].as_i64().unwrap_or(0), port["protocol"].as_str().unwrap_or("TCP").to_owned());
            let chosen = if requested == 0 {
                match old_ports.iter().find(|(p, proto, _)| (*p, proto.clone()) == key) {
                    Some((_, _, np)) if !want.ports.contains(np) => *np,
                    _ => self.pick_port(ranges, &want.ports).await.map_err(|r| invalid(new, &field, r))?,
                }
            } else {
                let np = u16::try_from(requested).ok().filter(|p| ranges.contains_port(*p)).ok_or_else(|| {
                    invalid(new, &field, format!("{requested} is not in the node port range {}", ranges.port_range()))
                })?;
                let fresh = !old_held.ports.contains(&np) && !want.ports.contains(&np);
                if fresh && self.claimed(&format!("{PORT_CLAIMS}{np}")).await? {
                    return Err(invalid(new, &field, format!("{np} is already allocated")));
                }
                np
            };
            want.ports.insert(chosen);
            if let Some(p) = new.data.get_mut("spec").and_then(|s| s["ports"].get_mut(i)).and_then(Value::as_object_mut)
            {
                p.insert("nodePort".into(), json!(chosen));
            }
        }

        let mut claims = Claims::default();
        let ip_key = |ip: &Ipv4Addr| format!("{IP_CLAIMS}{ip}");
        let port_key = |p: &u16| format!("{PORT_CLAIMS}{p}");
        if want.ip != old_held.ip {
            claims.claim.extend(want.ip.iter().map(|ip| (ip_key(ip), owner.clone())));
            claims.release.extend(old_held.ip.iter().map(ip_key));
        }
        claims.claim.extend(want.ports.difference(&old_held.ports).map(|p| (port_key(p), owner.clone())));
        claims.release.extend(old_held.ports.difference(&want.ports).map(port_key));
        Ok(claims)
    }

    async fn claimed(&self, key: &str) -> Result<bool, StoreError> {
        Ok(!self.inner.kv.range(RangeRequest::key(key.to_owned()).keys_only()).await?.kvs.is_empty())
    }

    /// Every claimed value under `prefix`.
    async fn claimed_set(&self, prefix: &str) -> Result<BTreeSet<String>, StoreError> {
        let resp = self.inner.kv.range(RangeRequest::prefix(prefix.to_owned()).keys_only()).await?;
        Ok(resp.kvs.iter().map(|kv| String::from_utf8_lossy(&kv.key[prefix.len()..]).into_owned()).collect())
    }

    /// A free ClusterIP: a few probes from the cursor, then a scan of the claims.
    async fn pick_ip(&self, ranges: &ServiceRanges) -> Result<Ipv4Addr, String> {
        let size = ranges.ip_count();
        for _ in 0..PROBES.min(size) {
            let ip = ranges.nth_ip(self.inner.alloc_cursors.ip.fetch_add(1, Ordering::Relaxed) % size);
            if !self.claimed(&format!("{IP_CLAIMS}{ip}")).await.map_err(|e| e.to_string())? {
                return Ok(ip);
            }
        }
        let taken = self.claimed_set(IP_CLAIMS).await.map_err(|e| e.to_string())?;
        (0..size)
            .map(|i| ranges.nth_ip(i))
            .find(|ip| !taken.contains(&ip.to_string()))
            .ok_or_else(|| format!("no free address is left in the service range {}", ranges.cidr()))
    }

    /// A free NodePort not in `picked`.
    async fn pick_port(&self, ranges: &ServiceRanges, picked: &BTreeSet<u16>) -> Result<u16, String> {
        let size = ranges.port_count();
        for _ in 0..PROBES.min(size) {
            let port = ranges.nth_port(self.inner.alloc_cursors.port.fetch_add(1, Ordering::Relaxed) % size);
            if !picked.contains(&port)
                && !self.claimed(&format!("{PORT_CLAIMS}{port}")).await.map_err(|e| e.to_string())?
            {
                return Ok(port);
            }
        }
        let taken = self.claimed_set(PORT_CLAIMS).await.map_err(|e| e.to_string())?;
        (0..size)
            .map(|i| ranges.nth_port(i))
            .find(|p| !picked.contains(p) && !taken.contains(&p.to_string()))
            .ok_or_else(|| format!("no free port is left in the node port range {}", ranges.port_range()))
    }
}

/// `(port, protocol, nodePort)` of each port of a stored Service that has a NodePort.
fn port_list(obj: &DynamicObject) -> Vec<(i64, String, u16)> {
    spec(obj)["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let np = u16::try_from(p["nodePort"].as_u64()?).ok()?;
            Some((p["port"].as_i64().unwrap_or(0), p["protocol"].as_str().unwrap_or("TCP").to_owned(), np))
        })
        .collect()
}
