//! `NodeIpamController`: gives every Node a unique `spec.podCIDR` and frees it when the Node goes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orch_core::kinds::Node;
use orch_core::{Api, ObjectStore, StoreError};

use super::address_pool::{Ipv4Pool, PoolError};
use crate::{Action, Informers, ReconcileContext, Reconciler, Store};

/// Errors of node IPAM.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// The pool failed (exhausted).
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// Writing the node failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Settings of node IPAM: the pod range (`127.64.0.0/10`) and the per-node block (`/24`).
#[derive(Clone, Debug)]
pub struct NodeIpamConfig {
    /// The cluster's pod range.
    pub cluster_cidr: String,
    /// Prefix length of each node's block.
    pub node_prefix: u8,
}

impl Default for NodeIpamConfig {
    fn default() -> Self {
        NodeIpamConfig { cluster_cidr: "127.64.0.0/10".into(), node_prefix: 24 }
    }
}

/// The node IPAM controller (run with `Controller::new(ipam, &informers)`).
pub struct NodeIpamController {
    store: Arc<dyn ObjectStore>,
    nodes: Store<Node>,
    pool: Mutex<Ipv4Pool>,
    recovered: AtomicBool,
}

impl NodeIpamController {
    /// A controller over `config`'s range.
    ///
    /// # Errors
    /// `InvalidRange` for a malformed range.
    pub fn new(informers: &Informers, config: NodeIpamConfig) -> Result<Self, PoolError> {
        Ok(NodeIpamController {
            store: informers.object_store(),
            nodes: informers.store::<Node>(),
            pool: Mutex::new(Ipv4Pool::new(&config.cluster_cidr, config.node_prefix)?),
            recovered: AtomicBool::new(false),
        })
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Ipv4Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks currently assigned.
    pub fn allocated(&self) -> usize {
        self.pool().allocated()
    }

    /// Before the first allocation, every CIDR already on a cached node is marked used.
    fn recover(&self) {
        if self.recovered.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut pool = self.pool();
        for n in self.nodes.list() {
            if let Some(cidr) = &n.spec.pod_cidr {
                let _ = pool.reserve(n.metadata.name_str(), cidr);
            }
        }
    }
}

#[async_trait]
impl Reconciler for NodeIpamController {
    type Kind = Node;
    type Error = IpamError;

    fn name(&self) -> &str {
        "node-ipam"
    }

    async fn reconcile(&self, node: Arc<Node>, _ctx: &ReconcileContext) -> Result<Action, IpamError> {
        self.recover();
        let name = node.metadata.name_str();
        if let Some(cidr) = node.spec.pod_cidr.as_deref().filter(|c| !c.is_empty()) {
            // Someone else's CIDR or one outside our range stays as it is; we only track ours.
            let _ = self.pool().reserve(name, cidr);
            return Ok(Action::await_change());
        }
        if node.metadata.is_deleting() {
            return Ok(Action::await_change());
        }
        let cidr = self.pool().allocate(name)?;
        let mut updated = (*node).clone();
        updated.spec.pod_cidr = Some(cidr.clone());
        updated.spec.pod_cidrs = vec![cidr];
        match Api::<Node>::all(self.store.clone()).update(&updated).await {
            Ok(_) => Ok(Action::await_change()),
            Err(StoreError::NotFound { .. }) => {
                self.pool().release(name);
                Ok(Action::await_change())
            }
            // Stale cache: keep the block reserved for this node and try again.
            Err(e) => Err(e.into()),
        }
    }

    async fn reconcile_missing(&self, ctx: &ReconcileContext) -> Result<Action, IpamError> {
        self.pool().release(&ctx.key.name);
        Ok(Action::await_change())
    }
}
