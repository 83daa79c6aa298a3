//! # orch-controllers
//!
//! The reconcile runtime and the built-in controllers of orch.
//!
//! - [`runtime`]: a [`Reflector`] (list then watch, relist on `Gone`, resume with jittered
//!   backoff) feeding a cache ([`Writer`] / [`Store`] with secondary indexes); the [`WorkQueue`];
//!   the [`Reconciler`] trait, [`Action`] and the [`Controller`] builder; shared [`Informers`].
//! - [`finalizer`], [`leader`] (leader election over a `Lease`), [`recorder`] (events with
//!   repeats aggregated) and [`manager`] (many controllers over shared reflectors, optionally
//!   behind leader election).
//! - [`controllers`]: ReplicaSet, Deployment, Endpoints, garbage collector, Namespace, node IPAM,
//!   node lifecycle and LoadBalancer.
//!
//! Everything runs on orch-core's `Clock` and `Spawn`, so it builds without tokio and runs
//! deterministically on a `ManualClock` with a `DeterministicExecutor`.

pub mod controllers;
pub mod finalizer;
pub mod leader;
pub mod manager;
pub mod recorder;
pub mod runtime;

pub use runtime::index;
pub use runtime::{
    Action, Backoff, CacheObserver, Change, Controller, ControllerConfig, IndexFn, Informers, Latch, LatchWait,
    MetricsSnapshot, Next, ObjectKey, QueueMetrics, ReconcileContext, Reconciler, Reflector, Runtime, Store,
    Subscriber, Subscription, Watcher, WatcherConfig, WatcherEvent, WorkQueue, Writer,
};
