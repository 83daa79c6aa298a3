//! `Scheduler`: watches the store, keeps the cache and queue current, runs scheduling cycles
//! and binds asynchronously.

mod binding;
mod config;
mod cycle;
mod handlers;
mod informer;
mod notify;
mod stats;
mod status_writer;

use futures::FutureExt;
use orch_core::ObjectStore;
use orch_core::runtime::{Clock, Spawn};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use config::SchedulerConfig;
use notify::Notify;
pub use stats::SchedulerStats;

use crate::plugins::PrioritySort;
use crate::{
    DEFAULT_SCHEDULER_NAME, Framework, PluginContext, PluginRegistry, QueuedPodInfo, SchedError, SchedulerCache,
    SchedulingQueue, Snapshot, WaitingPods,
};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) spawn: Arc<dyn Spawn>,
    pub(crate) config: SchedulerConfig,
    pub(crate) frameworks: HashMap<String, Arc<Framework>>,
    pub(crate) cache: Mutex<SchedulerCache>,
    pub(crate) queue: Mutex<SchedulingQueue>,
    pub(crate) wake: Notify,
    pub(crate) stats: Mutex<SchedulerStats>,
    pub(crate) stopped: AtomicBool,
    pub(crate) synced: AtomicUsize,
}

impl Inner {
    pub(crate) fn framework_for(&self, info: &QueuedPodInfo) -> Option<&Arc<Framework>> {
        let name = info.pod.pod.spec.scheduler_name.as_deref().unwrap_or(DEFAULT_SCHEDULER_NAME);
        self.frameworks.get(name)
    }
}

/// The scheduler: pods without a node (empty `spec.nodeName`) are queued per profile
/// (`spec.schedulerName`), scheduled one cycle at a time against a snapshot of the cache, and
/// bound asynchronously through the store's `binding` operation.
///
/// Two watches feed it through the [`ObjectStore`] contract (list, then watch from the list's
/// revision, relisting when a watch ends): nodes, and non-terminal pods, which are routed by
/// `spec.nodeName` — bound pods into the cache, unbound ones into the queue. It runs on any
/// executor via [`Spawn`] and reads time from a [`Clock`].
///
/// ```no_run
/// # async fn demo(store: std::sync::Arc<dyn orch_core::ObjectStore>) -> Result<(), orch_sched::SchedError> {
/// use std::sync::Arc;
/// use orch_core::runtime::{SystemClock, TokioSpawn};
/// use orch_sched::{PluginRegistry, Scheduler, SchedulerConfig};
/// let scheduler = Scheduler::new(store, Arc::new(SystemClock), Arc::new(TokioSpawn::current()),
///     SchedulerConfig::default(), PluginRegistry::with_defaults())?;
/// scheduler.start();
/// // ... later
/// println!("{} pods bound", scheduler.stats().bound);
/// scheduler.stop();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl Scheduler {
    /// Builds the scheduler and instantiates every profile's plugins.
    ///
    /// # Errors
    /// [`SchedError::NoProfiles`], [`SchedError::DuplicateProfile`], or a plugin's
    /// configuration error.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        spawn: Arc<dyn Spawn>,
        config: SchedulerConfig,
        registry: PluginRegistry,
    ) -> Result<Self, SchedError> {
        if config.profiles.is_empty() {
            return Err(SchedError::NoProfiles);
        }
        let ctx =
            PluginContext { waiting_pods: WaitingPods::default(), clock: clock.clone(), store: Some(store.clone()) };
        let mut frameworks = HashMap::new();
        let mut sort = None;
        for profile in &config.profiles {
            let mut fw = Framework::new(profile, &registry, &ctx)?.with_seed(config.seed);
            if let Some(p) = config.parallelism {
                fw = fw.with_parallelism(p);
            }
            if let Some(t) = config.parallel_threshold {
                fw = fw.with_parallel_threshold(t);
            }
            if sort.is_none() {
                sort = fw.queue_sort();
            }
            if frameworks.insert(profile.scheduler_name.clone(), Arc::new(fw)).is_some() {
                return Err(SchedError::DuplicateProfile(profile.scheduler_name.clone()));
            }
        }
        let sort = sort.unwrap_or_else(|| Arc::new(PrioritySort));
        let queue = SchedulingQueue::new(config.queue.clone(), sort);
        Ok(Scheduler {
            inner: Arc::new(Inner {
                store,
                clock,
                spawn,
                config,
                frameworks,
                cache: Mutex::new(SchedulerCache::new()),
                queue: Mutex::new(queue),
                wake: Notify::default(),
                stats: Mutex::new(SchedulerStats::default()),
                stopped: AtomicBool::new(false),
                synced: AtomicUsize::new(0),
            }),
        })
    }

    /// Spawns the watches and the scheduling loop on the scheduler's executor.
    pub fn start(&self) {
        for kind in informer::Kind::ALL {
            let inner = self.inner.clone();
            self.inner.spawn.spawn_boxed(kind.task_name(), informer::run(inner, kind).boxed());
        }
        let inner = self.inner.clone();
        self.inner.spawn.spawn_boxed("scheduler-loop", scheduling_loop(inner).boxed());
    }

    /// Stops the loop and the watches (at their next event or wake-up).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.wake.notify();
    }

    /// Whether the node and pod watches have delivered their initial lists.
    pub fn is_synced(&self) -> bool {
        self.inner.synced.load(Ordering::SeqCst) >= informer::Kind::ALL.len()
    }

    /// A copy of the counters.
    pub fn stats(&self) -> SchedulerStats {
        lock(&self.inner.stats).clone()
    }

    /// The framework of a profile.
    pub fn framework(&self, scheduler_name: &str) -> Option<Arc<Framework>> {
        self.inner.frameworks.get(scheduler_name).cloned()
    }

    /// Queue sizes: (active, backoff, unschedulable).
    pub fn queue_lengths(&self) -> (usize, usize, usize) {
        let q = lock(&self.inner.queue);
        (q.active_len(), q.backoff_len(), q.unschedulable_len())
    }

    /// Pods in the cache (bound and assumed).
    pub fn cached_pods(&self) -> usize {
        lock(&self.inner.cache).pod_count()
    }
}

async fn scheduling_loop(inner: Arc<Inner>) {
    let mut snapshot = Snapshot::default();
    let mut since_yield = 0u32;
    while !inner.stopped.load(Ordering::SeqCst) {
        let synced = inner.synced.load(Ordering::SeqCst) >= informer::Kind::ALL.len();
        let popped = if synced {
            let now = inner.clock.now();
            let mut q = lock(&inner.queue);
            q.flush(now);
            q.pop(now)
        } else {
            None
        };
        match popped {
            Some(info) => {
                cycle::schedule_one(&inner, info, &mut snapshot);
                since_yield += 1;
                if since_yield >= 8 {
                    since_yield = 0;
                    notify::yield_now().await;
                }
            }
            None => {
                let deadline = lock(&inner.queue).next_deadline();
                match deadline {
                    Some(d) => {
                        let sleep = inner.clock.sleep_until(d);
                        futures::future::select(Box::pin(inner.wake.notified()), sleep).await;
                    }
                    None => inner.wake.notified().await,
                }
            }
        }
    }
}
