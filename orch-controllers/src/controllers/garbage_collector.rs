//! `GarbageCollector`: cascading deletion by ownerReferences (background, foreground, orphan).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Either, join_all, select};
use orch_core::kinds::{Deployment, Endpoints, Pod, ReplicaSet, Service};
use orch_core::store::PropagationPolicy;
use orch_core::{Resource, StoreError};

use super::gc_kind::{GcKind, GcNode, TypedGcKind};
use crate::manager::RunController;
use crate::{Informers, Latch, ObjectKey, QueueMetrics, Runtime, WorkQueue};

/// Finalizer the store adds for `propagationPolicy: Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer the store adds for `propagationPolicy: Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// A node of the graph: kind id and key.
type GcKey = (String, ObjectKey);

/// Deletes objects whose owners are all gone (background), deletes dependents before a
/// foreground-deleted owner, and strips owner references from dependents of an orphaning owner.
///
/// Owners are checked with a live read before a dependent is deleted, so a cache that has not
/// seen a new owner yet never causes a wrong deletion.
///
/// ```
/// use orch_controllers::controllers::garbage_collector::GarbageCollector;
/// use orch_controllers::manager::ControllerManager;
/// use orch_controllers::Informers;
///
/// fn manager(informers: Informers) -> ControllerManager {
///     ControllerManager::new(informers.clone()).with(GarbageCollector::with_builtin_kinds(&informers))
/// }
/// ```
pub struct GarbageCollector {
    kinds: BTreeMap<String, Arc<dyn GcKind>>,
    rt: Runtime,
    workers: usize,
    metrics: Arc<QueueMetrics>,
}

impl GarbageCollector {
    /// A collector over no kinds yet.
    pub fn new(informers: &Informers) -> Self {
        GarbageCollector {
            kinds: BTreeMap::new(),
            rt: informers.runtime().clone(),
            workers: 4,
            metrics: Arc::default(),
        }
    }

    /// A collector over Pods, ReplicaSets, Deployments, Services and Endpoints.
    pub fn with_builtin_kinds(informers: &Informers) -> Self {
        Self::new(informers)
            .kind::<Pod>(informers)
            .kind::<ReplicaSet>(informers)
            .kind::<Deployment>(informers)
            .kind::<Service>(informers)
            .kind::<Endpoints>(informers)
    }

    /// Adds a kind to the graph (as owner and as dependent).
    pub fn kind<K: Resource>(self, informers: &Informers) -> Self {
        self.kind_dyn(Arc::new(TypedGcKind::<K>::new(informers)))
    }

    /// Adds a kind given as a trait object.
    pub fn kind_dyn(mut self, kind: Arc<dyn GcKind>) -> Self {
        self.kinds.insert(kind.id(), kind);
        self
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<QueueMetrics> {
        &self.metrics
    }

    fn dependents(&self, uid: &str) -> Vec<GcNode> {
        dependents(&self.kinds, uid)
    }

    /// One decision for one object, from the caches (owners confirmed absent by a live read).
    async fn process(&self, key: &GcKey) -> Result<(), StoreError> {
        let Some(kind) = self.kinds.get(&key.0) else { return Ok(()) };
        let Some(node) = kind.get(&key.1) else { return Ok(()) };
        let uid = node.meta.uid.clone().unwrap_or_default();
        let has = |f: &str| node.meta.finalizers.iter().any(|x| x == f);
        if node.meta.is_deleting() {
            if has(ORPHAN_FINALIZER) {
                for d in self.dependents(&uid) {
                    if let Some(k) = self.kinds.get(&d.kind) {
                        k.remove_owner(&d.key, &uid).await?;
                    }
                }
                kind.remove_finalizer(&node.key, ORPHAN_FINALIZER).await?;
            } else if has(FOREGROUND_FINALIZER) {
                let deps = self.dependents(&uid);
                if deps.is_empty() {
                    kind.remove_finalizer(&node.key, FOREGROUND_FINALIZER).await?;
                }
                for d in deps.iter().filter(|d| !d.meta.is_deleting()) {
                    if let Some(k) = self.kinds.get(&d.kind) {
                        k.delete(&d.key, PropagationPolicy::Foreground).await?;
                    }
                }
            }
            return Ok(());
        }
        let (mut absent, mut present) = (Vec::new(), false);
        for r in &node.meta.owner_references {
            let Some(owner_kind) = self.kinds.get(&format!("{}/{}", r.api_version, r.kind)) else {
                present = true; // an owner of a kind we do not track is assumed alive
                continue;
            };
            let ns = node.key.namespace.clone().filter(|_| owner_kind.resource_type().namespaced());
            let okey = ObjectKey { namespace: ns, name: r.name.clone() };
            let cached = owner_kind.get(&okey).is_some_and(|o| o.meta.uid.as_deref() == Some(r.uid.as_str()));
            if cached || owner_kind.exists_live(&okey, &r.uid).await? {
                present = true;
            } else {
                absent.push(r.uid.clone());
            }
        }
        if absent.is_empty() {
            return Ok(());
        }
        if !present {
            return kind.delete(&node.key, PropagationPolicy::Background).await;
        }
        for uid in absent {
            kind.remove_owner(&node.key, &uid).await?;
        }
        Ok(())
    }

    async fn run_inner(&self, stop: Latch, abort: Latch) {
        let queue: WorkQueue<GcKey> = WorkQueue::with_metrics(
            self.rt.clock.clone(),
            Duration::from_millis(5),
            Duration::from_secs(300),
            self.metrics.clone(),
        );
        let subs: Vec<_> = self
            .kinds
            .values()
            .map(|k| {
                let (q, kinds) = (queue.clone(), self.kinds.clone());
                k.subscribe(Arc::new(move |n: &GcNode, deleted: bool| on_change(&kinds, &q, n, deleted)))
            })
            .collect();
        if let Either::Right(_) = select(join_all(self.kinds.values().map(|k| k.synced())), stop.wait()).await {
            return;
        }
        // Every cached object with owners or our finalizers is checked once at start.
        for k in self.kinds.values() {
            for n in k.list() {
                on_change(&self.kinds, &queue, &n, false);
            }
        }
        let workers = (0..self.workers.max(1)).map(|_| async {
            while let Some(key) = queue.next().await {
                let start = self.rt.clock.now();
                let res = {
                    let work = std::pin::pin!(self.process(&key));
                    match select(work, abort.wait()).await {
                        Either::Left((r, _)) => Some(r),
                        Either::Right(_) => None,
                    }
                };
                let Some(res) = res else {
                    queue.done(&key);
                    break;
                };
                let latency = self.rt.clock.now().saturating_duration_since(start);
                self.metrics.reconciled(latency, res.is_err(), false);
                queue.done(&key);
                match res {
                    Ok(()) => queue.forget(&key),
                    Err(_) => queue.add_rate_limited(key),
                }
            }
        });
        let stopper = async {
            select(stop.wait(), abort.wait()).await;
            queue.shut_down();
        };
        futures::join!(join_all(workers), stopper);
        drop(subs);
    }
}

fn dependents(kinds: &BTreeMap<String, Arc<dyn GcKind>>, uid: &str) -> Vec<GcNode> {
    kinds.values().flat_map(|k| k.dependents_of(uid)).collect()
}

/// Queues what a change may affect: the object itself, and (when it goes) its dependents and owners.
fn on_change(kinds: &BTreeMap<String, Arc<dyn GcKind>>, queue: &WorkQueue<GcKey>, node: &GcNode, deleted: bool) {
    let m = &node.meta;
    let ours = m.finalizers.iter().any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER);
    if !deleted && (!m.owner_references.is_empty() || ours) {
        queue.add((node.kind.clone(), node.key.clone()));
    }
    if deleted || m.is_deleting() {
        if let Some(uid) = &m.uid {
            for d in dependents(kinds, uid) {
                queue.add((d.kind, d.key));
            }
        }
        for r in &m.owner_references {
            let id = format!("{}/{}", r.api_version, r.kind);
            if let Some(k) = kinds.get(&id) {
                let ns = node.key.namespace.clone().filter(|_| k.resource_type().namespaced());
                queue.add((id, ObjectKey { namespace: ns, name: r.name.clone() }));
            }
        }
    }
}

impl RunController for GarbageCollector {
    fn name(&self) -> &str {
        "garbage-collector"
    }
    fn run_until(&self, stop: Latch, abort: Latch) -> BoxFuture<'_, ()> {
        self.run_inner(stop, abort).boxed()
    }
}
