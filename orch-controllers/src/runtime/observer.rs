//! `CacheObserver`: a derived view (counts, aggregates) kept in step with a cache, change by change.

/// Something derived from a cache's content and kept in step with it: a tally, a sum, a
/// histogram. Where a secondary index answers "which objects", an observer answers "how many"
/// without visiting them, so a reconcile over 100,000 children costs no more than over ten.
///
/// # Guarantees
/// The cache calls an observer under its write lock, so the observer sees every change exactly
/// once and in the cache's order: on registration ([`Store::add_observer`](crate::Store::add_observer))
/// it is replayed the cache's current content as [`applied`](Self::applied) with no `old`, and
/// after that each change as it is applied. Calls must be quick and must not touch the cache
/// (that would deadlock); observers lock their own state.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use orch_controllers::{CacheObserver, Writer};
/// use orch_core::{ObjectMeta, kinds::Pod};
///
/// #[derive(Default)]
/// struct Bound(AtomicUsize);
/// fn bound(p: &Pod) -> usize { usize::from(p.spec.node_name.is_some()) }
/// impl CacheObserver<Pod> for Bound {
///     fn applied(&self, old: Option<&Pod>, new: &Pod) {
///         self.0.fetch_sub(old.map_or(0, bound), Ordering::SeqCst);
///         self.0.fetch_add(bound(new), Ordering::SeqCst);
///     }
///     fn removed(&self, old: &Pod) { self.0.fetch_sub(bound(old), Ordering::SeqCst); }
///     fn cleared(&self) { self.0.store(0, Ordering::SeqCst); }
/// }
///
/// let mut writer: Writer<Pod> = Writer::new();
/// let counter = Arc::new(Bound::default());
/// writer.reader().add_observer(counter.clone());
/// let mut pod = Pod { metadata: ObjectMeta::named("a").in_namespace("default"), ..Default::default() };
/// writer.apply(Arc::new(pod.clone()));
/// pod.spec.node_name = Some("n1".into());
/// writer.apply(Arc::new(pod));
/// assert_eq!(counter.0.load(Ordering::SeqCst), 1);
/// ```
pub trait CacheObserver<K>: Send + Sync {
    /// An object entered the cache (`old` is `None`) or replaced `old`.
    fn applied(&self, old: Option<&K>, new: &K);
    /// An object left the cache; `old` is its last cached state.
    fn removed(&self, old: &K);
    /// The cache was emptied; a relist's content follows as [`applied`](Self::applied) calls.
    fn cleared(&self);
}

#[allow(dead_code)]
fn _object_safe(_: &dyn CacheObserver<orch_core::kinds::Pod>) {}
