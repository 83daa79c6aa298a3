//! `WaitingPods`: pods held by a Permit `Wait`, and the handle plugins use to allow or reject them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::channel::oneshot;

use super::Status;
use crate::PodInfo;

struct Waiting {
    pod: Arc<PodInfo>,
    node: String,
    pending: HashSet<String>,
    tx: oneshot::Sender<Status>,
}

/// The pods whose binding waits on Permit plugins. Plugins receive a clone in their
/// [`PluginContext`](crate::PluginContext) and call [`allow`](Self::allow) or
/// [`reject`](Self::reject); a pod binds once every plugin that said `Wait` has allowed it.
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Arc;
/// use orch_core::{ObjectMeta, kinds::Pod};
/// use orch_sched::{PodInfo, WaitingPods};
/// let waiting = WaitingPods::default();
/// let pod = Arc::new(PodInfo::new(Pod { metadata: ObjectMeta::named("p").in_namespace("ns"), ..Default::default() }));
/// let mut rx = waiting.register(pod, "n1", HashSet::from(["Gang".to_owned()]));
/// assert_eq!(waiting.list().len(), 1);
/// waiting.allow("ns/p", "Gang");
/// assert!(rx.try_recv().unwrap().unwrap().is_success());
/// assert!(waiting.list().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct WaitingPods {
    inner: Arc<Mutex<HashMap<String, Waiting>>>,
}

impl std::fmt::Debug for WaitingPods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitingPods").field("len", &self.lock().len()).finish()
    }
}

impl WaitingPods {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Waiting>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `pod` (placed on `node`) until each plugin in `plugins` allows it; the receiver
    /// gets the verdict. The framework calls this when Permit plugins return `Wait`.
    pub fn register(&self, pod: Arc<PodInfo>, node: &str, plugins: HashSet<String>) -> oneshot::Receiver<Status> {
        let (tx, rx) = oneshot::channel();
        let key = pod.key.clone();
        self.lock().insert(key, Waiting { pod, node: node.to_owned(), pending: plugins, tx });
        rx
    }

    /// One plugin allows the pod; when no plugin is left waiting it binds.
    pub fn allow(&self, key: &str, plugin: &str) {
        let mut map = self.lock();
        let done = match map.get_mut(key) {
            Some(w) => {
                w.pending.remove(plugin);
                w.pending.is_empty()
            }
            None => false,
        };
        if done && let Some(w) = map.remove(key) {
            let _ = w.tx.send(Status::success());
        }
    }

    /// Rejects the pod: its placement is rolled back and it is requeued.
    pub fn reject(&self, key: &str, plugin: &str, reason: impl Into<String>) {
        if let Some(w) = self.lock().remove(key) {
            let _ = w.tx.send(Status::unschedulable(reason.into()).with_plugin(plugin));
        }
    }

    /// Forgets a pod (its wait timed out or it was deleted) without a verdict.
    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// The waiting pods and their chosen nodes.
    pub fn list(&self) -> Vec<(Arc<PodInfo>, String)> {
        self.lock().values().map(|w| (w.pod.clone(), w.node.clone())).collect()
    }

    /// Whether the pod is waiting.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }
}
