//! LoadBalancer Services: the `LoadBalancerProvider` trait, a built-in address-pool provider, and
//! the controller that drives a provider and fills `status.loadBalancer.ingress`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orch_core::kinds::{LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus};
use orch_core::{Api, ObjectStore, StoreError};

use super::address_pool::{Ipv4Pool, PoolError};
use crate::finalizer::{FinalizerError, FinalizerEvent, finalizer};
use crate::{Action, Informers, ObjectKey, ReconcileContext, Reconciler};

/// Finalizer that keeps a LoadBalancer Service until its load balancer is released.
pub const LB_FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// Errors of a provider.
#[derive(Debug, thiserror::Error)]
pub enum LoadBalancerError {
    /// No address could be assigned.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The provider's own failure.
    #[error("provider: {0}")]
    Provider(String),
}

/// Creates, updates and removes the load balancer of a Service (MetalLB / ServiceLB / a cloud).
///
/// # Contract
/// `ensure` is idempotent: called again for the same Service it returns the same ingress.
/// `delete` of an unknown Service succeeds.
///
/// ```
/// use async_trait::async_trait;
/// use orch_controllers::controllers::load_balancer::{LoadBalancerError, LoadBalancerProvider};
/// use orch_core::kinds::{LoadBalancerIngress, Service};
///
/// struct Fixed;
/// #[async_trait]
/// impl LoadBalancerProvider for Fixed {
///     fn name(&self) -> &str { "fixed" }
///     async fn ensure(&self, _svc: &Service) -> Result<Vec<LoadBalancerIngress>, LoadBalancerError> {
///         Ok(vec![LoadBalancerIngress { hostname: Some("lb.example".into()), ..Default::default() }])
///     }
///     async fn delete(&self, _svc: &Service) -> Result<(), LoadBalancerError> { Ok(()) }
/// }
/// ```
#[async_trait]
pub trait LoadBalancerProvider: Send + Sync {
    /// The provider's name.
    fn name(&self) -> &str;
    /// Makes sure a load balancer exists for the Service; returns its ingress points.
    ///
    /// # Errors
    /// When none can be provided now (the controller retries with backoff).
    async fn ensure(&self, svc: &Service) -> Result<Vec<LoadBalancerIngress>, LoadBalancerError>;
    /// Updates the load balancer after a change of ports or endpoints (default: `ensure`).
    ///
    /// # Errors
    /// As `ensure`.
    async fn update(&self, svc: &Service) -> Result<(), LoadBalancerError> {
        self.ensure(svc).await.map(|_| ())
    }
    /// Removes the load balancer.
    ///
    /// # Errors
    /// When it cannot be removed now (the Service stays until it is).
    async fn delete(&self, svc: &Service) -> Result<(), LoadBalancerError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn LoadBalancerProvider) {}

/// The built-in provider: one address per Service from a pool (default `127.240.0.0/16`), served
/// by orch-node's proxy. Honours `spec.loadBalancerIP` when it is in the pool and free, and keeps
/// the address a Service already reports (after a restart).
pub struct PoolProvider {
    pool: Mutex<Ipv4Pool>,
}

impl PoolProvider {
    /// A provider over `range` (CIDR).
    ///
    /// # Errors
    /// `InvalidRange`.
    pub fn new(range: &str) -> Result<Self, PoolError> {
        Ok(PoolProvider { pool: Mutex::new(Ipv4Pool::new(range, 32)?) })
    }

    /// A provider over `127.240.0.0/16`.
    pub fn default_pool() -> Self {
        PoolProvider { pool: Mutex::new(Ipv4Pool::masked(std::net::Ipv4Addr::new(127, 240, 0, 0), 16, 32)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ipv4Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Addresses in use.
    pub fn allocated(&self) -> usize {
        self.lock().allocated()
    }
}

fn owner(svc: &Service) -> String {
    ObjectKey::from_meta(&svc.metadata).to_string()
}

#[async_trait]
impl LoadBalancerProvider for PoolProvider {
    fn name(&self) -> &str {
        "pool"
    }

    async fn ensure(&self, svc: &Service) -> Result<Vec<LoadBalancerIngress>, LoadBalancerError> {
        let who = owner(svc);
        let mut pool = self.lock();
        if pool.block_of(&who).is_none() {
            let reported = svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.first());
            let wanted = svc.spec.load_balancer_ip.clone().or_else(|| reported.and_then(|i| i.ip.clone()));
            if let Some(ip) = wanted.filter(|ip| pool.contains(ip)) {
                let _ = pool.reserve(&who, &ip);
            }
        }
        let ip = pool.allocate(&who)?;
        Ok(vec![LoadBalancerIngress { ip: Some(ip), hostname: None, ip_mode: Some("VIP".into()) }])
    }

    async fn delete(&self, svc: &Service) -> Result<(), LoadBalancerError> {
        self.lock().release(&owner(svc));
        Ok(())
    }
}

/// Drives a [`LoadBalancerProvider`] for Services of type `LoadBalancer`
/// (run with `Controller::new(lb, &informers)`).
pub struct LoadBalancerController {
    store: Arc<dyn ObjectStore>,
    provider: Arc<dyn LoadBalancerProvider>,
}

impl LoadBalancerController {
    /// A controller driving `provider`.
    pub fn new(informers: &Informers, provider: Arc<dyn LoadBalancerProvider>) -> Self {
        LoadBalancerController { store: informers.object_store(), provider }
    }

    async fn set_ingress(&self, svc: &Service, ingress: Vec<LoadBalancerIngress>) -> Result<(), StoreError> {
        let current = svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).map(|l| l.ingress.clone());
        if current.unwrap_or_default() == ingress {
            return Ok(());
        }
        let mut updated = svc.clone();
        let status = updated.status.get_or_insert_with(ServiceStatus::default);
        status.load_balancer = (!ingress.is_empty()).then_some(LoadBalancerStatus { ingress });
        updated.metadata.resource_version = None;
        match Api::<Service>::namespaced(self.store.clone(), svc.metadata.namespace_str()).update_status(&updated).await
        {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Errors of the LoadBalancer controller.
#[derive(Debug, thiserror::Error)]
pub enum LoadBalancerControllerError {
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] LoadBalancerError),
    /// A store write failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The finalizer bookkeeping failed.
    #[error(transparent)]
    Finalizer(#[from] Box<FinalizerError<LoadBalancerControllerError>>),
}

#[async_trait]
impl Reconciler for LoadBalancerController {
    type Kind = Service;
    type Error = LoadBalancerControllerError;

    fn name(&self) -> &str {
        "load-balancer"
    }

    async fn reconcile(&self, svc: Arc<Service>, _ctx: &ReconcileContext) -> Result<Action, Self::Error> {
        let is_lb = svc.spec.type_.as_deref() == Some("LoadBalancer");
        let has_finalizer = svc.metadata.finalizers.iter().any(|f| f == LB_FINALIZER);
        let api = Api::<Service>::namespaced(self.store.clone(), svc.metadata.namespace_str());
        if !is_lb && !svc.metadata.is_deleting() {
            // No longer (or never) a LoadBalancer: release what it may hold.
            if has_finalizer {
                self.provider.delete(&svc).await?;
                self.set_ingress(&svc, Vec::new()).await?;
                let mut updated = (*svc).clone();
                updated.metadata.finalizers.retain(|f| f != LB_FINALIZER);
                updated.status = None;
                api.update(&updated).await?;
            }
            return Ok(Action::await_change());
        }
        if !is_lb && !has_finalizer {
            return Ok(Action::await_change());
        }
        finalizer(&api, LB_FINALIZER, svc, |ev| async move {
            match ev {
                FinalizerEvent::Apply(svc) => {
                    let ingress = self.provider.ensure(&svc).await?;
                    self.set_ingress(&svc, ingress).await?;
                    Ok(Action::await_change())
                }
                FinalizerEvent::Cleanup(svc) => {
                    self.provider.delete(&svc).await?;
                    Ok(Action::await_change())
                }
            }
        })
        .await
        .map_err(|e| LoadBalancerControllerError::Finalizer(Box::new(e)))
    }
}
