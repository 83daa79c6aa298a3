//! `EndpointsController`: for each Service with a selector, the addresses of its pods.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use orch_core::kinds::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints, IntOrString, Pod, Service};
use orch_core::{Api, ObjectMeta, ObjectRef, ObjectStore, StoreError};

use crate::index::{NAMESPACE_INDEX, by_namespace};
use crate::{Action, Controller, Informers, ObjectKey, ReconcileContext, Reconciler, Store};

/// The subsets of a Service's Endpoints from its pods (pure): ready pods under `addresses`, the
/// others under `notReadyAddresses`, grouped by the ports they resolve to, sorted by IP.
///
/// ```
/// use orch_controllers::controllers::endpoints::endpoint_subsets;
/// use orch_core::kinds::{Condition, Pod, Service, ServicePort};
/// let mut svc = Service::default();
/// svc.spec.ports.push(ServicePort { port: 80, ..Default::default() });
/// let mut pod = Pod::default();
/// pod.status.pod_ip = Some("127.64.0.5".into());
/// pod.status.conditions.push(Condition::new("Ready", true));
/// let subsets = endpoint_subsets(&svc, &[&pod]);
/// assert_eq!(subsets[0].addresses[0].ip, "127.64.0.5");
/// assert_eq!(subsets[0].ports[0].port, 80);
/// ```
pub fn endpoint_subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    // Grouped by the resolved port numbers (ports come out in the Service's order).
    let mut groups: BTreeMap<Vec<i32>, EndpointSubset> = BTreeMap::new();
    let publish_all = svc.spec.publish_not_ready_addresses == Some(true);
    for p in pods {
        let Some(ip) = p.status.pod_ip.clone().filter(|ip| !ip.is_empty()) else { continue };
        let Some(ports) = resolve_ports(svc, p) else { continue };
        let addr = EndpointAddress {
            ip,
            hostname: None,
            node_name: p.spec.node_name.clone(),
            target_ref: Some(ObjectRef {
                kind: Some("Pod".into()),
                namespace: p.metadata.namespace.clone(),
                name: p.metadata.name.clone(),
                uid: p.metadata.uid.clone(),
                ..Default::default()
            }),
        };
        let numbers: Vec<i32> = ports.iter().map(|p| p.port).collect();
        let g = groups.entry(numbers).or_insert_with(|| EndpointSubset { ports, ..Default::default() });
        if publish_all || p.is_ready() {
            g.addresses.push(addr);
        } else {
            g.not_ready_addresses.push(addr);
        }
    }
    let mut out: Vec<EndpointSubset> = groups.into_values().collect();
    for s in &mut out {
        s.addresses.sort_by(|a, b| a.ip.cmp(&b.ip));
        s.not_ready_addresses.sort_by(|a, b| a.ip.cmp(&b.ip));
    }
    out
}

/// The target port of each Service port on this pod; `None` if a named port is missing.
fn resolve_ports(svc: &Service, pod: &Pod) -> Option<Vec<EndpointPort>> {
    svc.spec
        .ports
        .iter()
        .map(|sp| {
            let port = match &sp.target_port {
                None => sp.port,
                Some(IntOrString::Int(n)) => *n,
                Some(IntOrString::String(name)) => {
                    pod.spec
                        .containers
                        .iter()
                        .flat_map(|c| c.ports.iter())
                        .find(|cp| cp.name.as_deref() == Some(name.as_str()))?
                        .container_port
                }
            };
            Some(EndpointPort { name: sp.name.clone(), port, protocol: sp.protocol.clone(), app_protocol: None })
        })
        .collect()
}

/// The Endpoints controller; build it with [`EndpointsController::controller`].
pub struct EndpointsController {
    store: Arc<dyn ObjectStore>,
    pods: Store<Pod>,
    /// The Endpoints as last seen (a stale entry makes the update conflict, and the sync retry).
    endpoints: Store<Endpoints>,
}

impl EndpointsController {
    /// A controller over the shared caches of `informers`.
    pub fn new(informers: &Informers) -> Self {
        let pods = informers.store::<Pod>();
        if !pods.has_index(NAMESPACE_INDEX) {
            pods.add_index(NAMESPACE_INDEX, by_namespace());
        }
        EndpointsController { store: informers.object_store(), pods, endpoints: informers.store::<Endpoints>() }
    }

    /// The controller with its trigger: a pod change queues every Service of its namespace that
    /// selects it (before or after the change).
    pub fn controller(informers: &Informers) -> Controller<Self> {
        let services = informers.store::<Service>();
        Controller::new(Self::new(informers), informers).watches::<Pod>(move |p: &Pod| {
            services
                .list_namespace(p.metadata.namespace_str())
                .iter()
                .filter(|s| !s.spec.selector.is_empty())
                .filter(|s| s.spec.selector.iter().all(|(k, v)| p.metadata.labels.get(k) == Some(v)))
                .map(|s| ObjectKey::of(s.as_ref()))
                .collect()
        })
    }
}

#[async_trait]
impl Reconciler for EndpointsController {
    type Kind = Service;
    type Error = StoreError;

    fn name(&self) -> &str {
        "endpoints"
    }

    async fn reconcile(&self, svc: Arc<Service>, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        if svc.spec.selector.is_empty() {
            return Ok(Action::await_change());
        }
        let ns = ctx.key.namespace_str();
        let pods = self.pods.by_index(NAMESPACE_INDEX, ns);
        let selected: Vec<&Pod> = pods
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| !p.metadata.is_deleting() && !p.is_terminal())
            .filter(|p| svc.spec.selector.iter().all(|(k, v)| p.metadata.labels.get(k) == Some(v)))
            .collect();
        let subsets = endpoint_subsets(&svc, &selected);
        let api: Api<Endpoints> = Api::namespaced(self.store.clone(), ns);
        // From the cache, as Kubernetes' controller reads its lister: no store read (and decode)
        // of the whole Endpoints per pod change.
        match self.endpoints.get(&ctx.key) {
            Some(existing) if existing.subsets == subsets => {}
            Some(existing) => {
                let mut updated = (*existing).clone();
                updated.subsets = subsets;
                api.update(&updated).await?;
            }
            None => {
                let ep = Endpoints {
                    metadata: ObjectMeta { labels: svc.metadata.labels.clone(), ..ObjectMeta::named(&ctx.key.name) },
                    subsets,
                };
                match api.create(&ep).await {
                    Ok(_) => {}
                    Err(StoreError::AlreadyExists { .. }) => {
                        return Err(StoreError::Conflict { message: "endpoints appeared; retrying".into() });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Action::await_change())
    }

    async fn reconcile_missing(&self, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        let api: Api<Endpoints> = Api::namespaced(self.store.clone(), ctx.key.namespace_str());
        match api.delete(&ctx.key.name, &Default::default()).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(Action::await_change()),
            Err(e) => Err(e),
        }
    }
}
