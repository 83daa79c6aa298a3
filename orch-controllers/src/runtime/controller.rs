//! `Controller`: wires reflectors, a work queue and a [`Reconciler`] together, with a builder.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Either, join_all, select};
use orch_core::Resource;

use super::{Change, Informers, Latch, ObjectKey, QueueMetrics, ReconcileContext, Reconciler, Subscription, WorkQueue};

/// Settings of a [`Controller`]; a plain struct with `Default` and by-value builders.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Reconciles running at once (different keys).
    pub workers: usize,
    /// A reconcile running longer is cancelled and counted as a failure.
    pub reconcile_timeout: Duration,
    /// On shutdown, how long reconciles in flight may still run before they are cancelled.
    pub shutdown_grace: Duration,
    /// First retry delay of a failing key.
    pub initial_backoff: Duration,
    /// Largest retry delay of a failing key.
    pub max_backoff: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            workers: 4,
            reconcile_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_secs(1000),
        }
    }
}

impl ControllerConfig {
    /// Sets the number of workers (at least 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
    /// Sets the reconcile timeout.
    pub fn reconcile_timeout(mut self, d: Duration) -> Self {
        self.reconcile_timeout = d;
        self
    }
    /// Sets the shutdown grace period.
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }
    /// Sets the failure backoff range.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
}

/// Maps an object of kind `C` to the keys it queues.
pub type KeyMapper<C> = Arc<dyn Fn(&C) -> Vec<ObjectKey> + Send + Sync>;

/// Subscribes a queue to one kind's changes; returns the subscription and a "synced" future.
type Trigger = Arc<dyn Fn(&Informers, &WorkQueue<ObjectKey>) -> (Subscription, BoxFuture<'static, ()>) + Send + Sync>;

/// A reconciler plus the changes that queue its keys.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use orch_controllers::{Action, Controller, ControllerConfig, Informers, Latch, ObjectKey, ReconcileContext, Reconciler};
/// use orch_core::kinds::{Node, Pod, ReplicaSet};
///
/// struct Rs;
/// #[async_trait]
/// impl Reconciler for Rs {
///     type Kind = ReplicaSet;
///     type Error = std::convert::Infallible;
///     fn name(&self) -> &str { "rs" }
///     async fn reconcile(&self, _: Arc<ReplicaSet>, _: &ReconcileContext) -> Result<Action, Self::Error> {
///         Ok(Action::await_change())
///     }
/// }
///
/// async fn run(informers: Informers, stop: Latch) {
///     Controller::new(Rs, &informers)
///         .owns::<Pod>()                                   // a pod change queues its owning ReplicaSet
///         .watches::<Node>(|_node| Vec::<ObjectKey>::new()) // any mapping you like
///         .config(ControllerConfig::default().workers(2))
///         .run(stop)
///         .await;
/// }
/// ```
pub struct Controller<R: Reconciler> {
    reconciler: Arc<R>,
    informers: Informers,
    triggers: Vec<Trigger>,
    config: ControllerConfig,
    metrics: Arc<QueueMetrics>,
    queue: Mutex<Option<WorkQueue<ObjectKey>>>,
}

fn subscribe<C: Resource>(
    informers: &Informers,
    queue: &WorkQueue<ObjectKey>,
    map: KeyMapper<C>,
) -> (Subscription, BoxFuture<'static, ()>) {
    let reflector = informers.reflector::<C>();
    let q = queue.clone();
    let sub = reflector.subscribe(Arc::new(move |change: &Change<C>| {
        if let Change::Applied { old: Some(old), .. } = change {
            map(old).into_iter().for_each(|k| q.add(k));
        }
        map(change.object()).into_iter().for_each(|k| q.add(k));
    }));
    let store = reflector.store();
    (sub, async move { store.wait_synced().await }.boxed())
}

impl<R: Reconciler> Controller<R> {
    /// A controller of `R::Kind` using the shared reflectors of `informers`.
    pub fn new(reconciler: R, informers: &Informers) -> Self {
        Self::from_arc(Arc::new(reconciler), informers)
    }

    /// Like [`new`](Self::new) with a shared reconciler.
    pub fn from_arc(reconciler: Arc<R>, informers: &Informers) -> Self {
        let main: Trigger =
            Arc::new(|inf, q| subscribe::<R::Kind>(inf, q, Arc::new(|o: &R::Kind| vec![ObjectKey::of(o)])));
        Controller {
            reconciler,
            informers: informers.clone(),
            triggers: vec![main],
            config: ControllerConfig::default(),
            metrics: Arc::default(),
            queue: Mutex::new(None),
        }
    }

    /// Children of kind `C` queue their controller owner when it is of kind `R::Kind`.
    pub fn owns<C: Resource>(mut self) -> Self {
        let api_version = R::Kind::api_version().into_owned();
        let map = Arc::new(move |c: &C| -> Vec<ObjectKey> {
            let Some(owner) = c.meta().controller_owner() else { return Vec::new() };
            if owner.kind != R::Kind::KIND || owner.api_version != api_version {
                return Vec::new();
            }
            let ns = c.meta().namespace.clone().filter(|_| R::Kind::SCOPE == orch_core::Scope::Namespaced);
            vec![ObjectKey { namespace: ns, name: owner.name.clone() }]
        });
        self.triggers.push(Arc::new(move |inf, q| subscribe::<C>(inf, q, map.clone())));
        self
    }

    /// Objects of kind `C` queue whatever keys `mapper` returns (for their old and new state).
    pub fn watches<C: Resource>(mut self, mapper: impl Fn(&C) -> Vec<ObjectKey> + Send + Sync + 'static) -> Self {
        let map: KeyMapper<C> = Arc::new(mapper);
        self.triggers.push(Arc::new(move |inf, q| subscribe::<C>(inf, q, map.clone())));
        self
    }

    /// Replaces the settings.
    pub fn config(mut self, config: ControllerConfig) -> Self {
        self.config = config;
        self
    }

    /// The reconciler.
    pub fn reconciler(&self) -> &Arc<R> {
        &self.reconciler
    }

    /// Counters over every run of this controller.
    pub fn metrics(&self) -> &Arc<QueueMetrics> {
        &self.metrics
    }

    /// The queue of the current run, if running.
    pub fn queue(&self) -> Option<WorkQueue<ObjectKey>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs until `stop` is set: waits for the caches to sync, queues every cached object,
    /// reconciles with `config.workers` workers, then stops gracefully (reconciles in flight get
    /// `shutdown_grace` to finish). Can be run again after it returns.
    pub async fn run(&self, stop: Latch) {
        self.run_until(stop, Latch::new()).await
    }

    /// Like [`run`](Self::run), but setting `abort` cancels reconciles in flight at once
    /// (used when leadership is lost and nothing may be written any more).
    pub async fn run_until(&self, stop: Latch, abort: Latch) {
        let rt = self.informers.runtime().clone();
        let cfg = self.config.clone();
        let queue =
            WorkQueue::with_metrics(rt.clock.clone(), cfg.initial_backoff, cfg.max_backoff, self.metrics.clone());
        *self.queue.lock().unwrap_or_else(|e| e.into_inner()) = Some(queue.clone());
        let (subs, synced): (Vec<Subscription>, Vec<BoxFuture<'static, ()>>) =
            self.triggers.iter().map(|t| t(&self.informers, &queue)).unzip();
        self.informers.start();
        if let Either::Right(_) = select(join_all(synced), stop.wait()).await {
            queue.shut_down();
            return;
        }
        let main = self.informers.store::<R::Kind>();
        main.keys().into_iter().for_each(|k| queue.add(k));
        let mut done = Vec::new();
        for i in 0..cfg.workers {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            done.push(rx);
            let worker = Worker {
                reconciler: self.reconciler.clone(),
                store: main.clone(),
                queue: queue.clone(),
                rt: rt.clone(),
                config: cfg.clone(),
                stop: stop.clone(),
                abort: abort.clone(),
            };
            rt.spawn(&format!("{}-worker-{i}", self.reconciler.name()), async move {
                worker.run().await;
                let _ = tx.send(());
            });
        }
        stop.wait().await;
        queue.shut_down();
        join_all(done).await;
        drop(subs);
    }
}

struct Worker<R: Reconciler> {
    reconciler: Arc<R>,
    store: super::Store<R::Kind>,
    queue: WorkQueue<ObjectKey>,
    rt: super::Runtime,
    config: ControllerConfig,
    stop: Latch,
    abort: Latch,
}

impl<R: Reconciler> Worker<R> {
    async fn run(self) {
        while let Some(key) = self.queue.next().await {
            self.process(key).await;
        }
    }

    async fn process(&self, key: ObjectKey) {
        let start = self.rt.clock.now();
        let ctx = ReconcileContext { key: key.clone(), now: start, failures: self.queue.failures(&key) };
        let work = async {
            match self.store.get(&key) {
                Some(obj) => self.reconciler.reconcile(obj, &ctx).await,
                None => self.reconciler.reconcile_missing(&ctx).await,
            }
        };
        let bounded = self.rt.timeout(self.config.reconcile_timeout, work);
        let graceful = async {
            self.stop.wait().await;
            self.rt.clock.sleep(self.config.shutdown_grace).await;
        };
        let graceful = std::pin::pin!(graceful);
        let stop_deadline = select(graceful, self.abort.wait());
        let outcome = match select(std::pin::pin!(bounded), std::pin::pin!(stop_deadline)).await {
            Either::Left((o, _)) => o,
            // Shutting down and out of grace: the reconcile is dropped; it runs again next time.
            Either::Right(_) => {
                self.queue.done(&key);
                return;
            }
        };
        let latency = self.rt.clock.now().saturating_duration_since(start);
        match outcome {
            Some(Ok(action)) => {
                self.queue.metrics().reconciled(latency, false, false);
                self.queue.forget(&key);
                self.queue.done(&key);
                if let Some(d) = action.requeue_after() {
                    self.queue.add_after(key, d);
                }
            }
            Some(Err(_)) | None => {
                self.queue.metrics().reconciled(latency, true, outcome.is_none());
                self.queue.done(&key);
                self.queue.add_rate_limited(key);
            }
        }
    }
}
