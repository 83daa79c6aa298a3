//! `ControllerManager`: runs many controllers over shared reflectors, optionally behind leader election.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, join_all};

use crate::leader::{LeaderElector, TermEnd};
use crate::{Controller, Informers, Latch, Reconciler};

/// A controller the manager can run.
pub trait RunController: Send + Sync {
    /// Its name.
    fn name(&self) -> &str;
    /// Runs until `stop` (graceful) or `abort` (reconciles in flight are cancelled).
    fn run_until(&self, stop: Latch, abort: Latch) -> BoxFuture<'_, ()>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn RunController) {}

impl<R: Reconciler> RunController for Controller<R> {
    fn name(&self) -> &str {
        self.reconciler().name()
    }
    fn run_until(&self, stop: Latch, abort: Latch) -> BoxFuture<'_, ()> {
        Controller::run_until(self, stop, abort).boxed()
    }
}

/// Called with `true` when this manager starts leading (before its controllers start) and with
/// `false` once every controller has stopped after leadership ended.
pub type LeadershipHook = Arc<dyn Fn(bool) + Send + Sync>;

/// Runs controllers together; with leader election, only while leading.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::manager::ControllerManager;
/// use orch_controllers::controllers::replica_set::ReplicaSetController;
/// use orch_controllers::{Controller, Informers, Latch};
/// use orch_core::kinds::Pod;
///
/// async fn run(informers: Informers, stop: Latch) {
///     let rs = ReplicaSetController::new(&informers);
///     let manager = ControllerManager::new(informers.clone())
///         .with(Controller::new(rs, &informers).owns::<Pod>());
///     manager.run(stop).await;
/// }
/// ```
pub struct ControllerManager {
    informers: Informers,
    controllers: Vec<Arc<dyn RunController>>,
    elector: Option<Arc<LeaderElector>>,
    hook: Option<LeadershipHook>,
}

impl ControllerManager {
    /// A manager without controllers.
    pub fn new(informers: Informers) -> Self {
        ControllerManager { informers, controllers: Vec::new(), elector: None, hook: None }
    }

    /// Adds a controller.
    pub fn with(mut self, controller: impl RunController + 'static) -> Self {
        self.controllers.push(Arc::new(controller));
        self
    }

    /// Adds a shared controller.
    pub fn with_arc(mut self, controller: Arc<dyn RunController>) -> Self {
        self.controllers.push(controller);
        self
    }

    /// Runs controllers only while `elector` holds the lease.
    pub fn leader_election(mut self, elector: LeaderElector) -> Self {
        self.elector = Some(Arc::new(elector));
        self
    }

    /// Observes the start and end of each term of leadership.
    pub fn on_leadership_change(mut self, hook: LeadershipHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The names of the controllers.
    pub fn controller_names(&self) -> Vec<&str> {
        self.controllers.iter().map(|c| c.name()).collect()
    }

    /// Runs until `stop` is set, then stops every controller gracefully (and releases the lease).
    pub async fn run(&self, stop: Latch) {
        self.informers.start();
        let Some(elector) = self.elector.clone() else {
            self.run_term(stop.clone(), Latch::new()).await;
            return;
        };
        loop {
            if !elector.acquire(&stop).await {
                return;
            }
            if let Some(h) = &self.hook {
                h(true);
            }
            let (term, abort) = (Latch::new(), Latch::new());
            let running = self.run_term(term.clone(), abort.clone());
            let holding = async {
                let end = elector.hold(&stop).await;
                if end == TermEnd::Lost {
                    abort.set();
                }
                term.set();
                end
            };
            let ((), end) = futures::join!(running, holding);
            if end == TermEnd::Stopped {
                elector.release().await;
            }
            if let Some(h) = &self.hook {
                h(false);
            }
            if end == TermEnd::Stopped {
                return;
            }
        }
    }

    /// Runs every controller in its own task until `stop`/`abort`; returns when all have stopped.
    async fn run_term(&self, stop: Latch, abort: Latch) {
        let rt = self.informers.runtime().clone();
        let mut done = Vec::new();
        for c in &self.controllers {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            done.push(rx);
            let (c, stop, abort) = (c.clone(), stop.clone(), abort.clone());
            rt.spawn(&format!("controller-{}", c.name()), async move {
                c.run_until(stop, abort).await;
                let _ = tx.send(());
            });
        }
        join_all(done).await;
    }
}
