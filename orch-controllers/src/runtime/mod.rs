//! The reconcile runtime: reflectors and caches, the work queue, controllers, and their helpers.

mod backoff;
mod cache;
mod controller;
mod env;
pub(crate) mod hash;
pub mod index;
mod informers;
mod key;
mod latch;
mod metrics;
mod observer;
mod queue;
mod reconciler;
mod reflector;
mod watcher;

pub use backoff::Backoff;
pub use cache::{Change, IndexFn, Store, Writer};
pub use controller::{Controller, ControllerConfig, KeyMapper};
pub use env::Runtime;
pub use informers::Informers;
pub use key::ObjectKey;
pub use latch::{Latch, LatchWait};
pub use metrics::{MetricsSnapshot, QueueMetrics};
pub use observer::CacheObserver;
pub use queue::{Next, WorkQueue};
pub use reconciler::{Action, ReconcileContext, Reconciler};
pub use reflector::{Reflector, Subscriber, Subscription};
pub use watcher::{Watcher, WatcherConfig, WatcherEvent};
