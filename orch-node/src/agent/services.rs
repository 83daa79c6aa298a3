//! The agent's view of the cluster's Services (the kubelet's service lister): one list and
//! watch of all Services, so a starting container's `{SVC}_SERVICE_HOST` variables cost no
//! request to the API server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use orch_core::kinds::Service;
use orch_core::store::{ListParams, TypedEvent, WatchParams};
use orch_core::{Api, ObjectStore, StoreError};
use tokio::sync::watch;

/// Services by namespace and name; `None` until the first list has arrived.
#[derive(Default)]
pub(crate) struct ServiceCache {
    state: Mutex<Option<BTreeMap<(String, String), Service>>>,
}

impl ServiceCache {
    fn lock(&self) -> MutexGuard<'_, Option<BTreeMap<(String, String), Service>>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Services of `namespace` in name order, or `None` while the cache has not synced.
    pub(crate) fn in_namespace(&self, namespace: &str) -> Option<Vec<Service>> {
        let state = self.lock();
        let services = state.as_ref()?;
        let from = (namespace.to_owned(), String::new());
        Some(services.range(from..).take_while(|((ns, _), _)| ns == namespace).map(|(_, s)| s.clone()).collect())
    }

    fn replace(&self, items: Vec<Service>) {
        *self.lock() = Some(items.into_iter().map(|s| (key(&s), s)).collect());
    }

    fn apply(&self, event: TypedEvent<Service>) {
        let mut state = self.lock();
        let Some(services) = state.as_mut() else { return };
        match event {
            TypedEvent::Added(s) | TypedEvent::Modified(s) => {
                services.insert(key(&s), s);
            }
            TypedEvent::Deleted(s) => {
                services.remove(&key(&s));
            }
            TypedEvent::Bookmark(_) => {}
        }
    }

    /// Lists and watches Services until `stop` turns true; after a failed list or a watch
    /// that ends, waits `retry` and lists again.
    pub(crate) async fn run(
        self: Arc<Self>,
        store: Arc<dyn ObjectStore>,
        mut stop: watch::Receiver<bool>,
        retry: Duration,
    ) {
        let api: Api<Service> = Api::all(store);
        loop {
            let synced = async {
                if let Err(e) = self.sync(&api).await {
                    tracing::warn!(error = %e, "the service list or watch failed; listing again");
                }
                tokio::time::sleep(retry).await;
            };
            tokio::select! {
                () = synced => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// One list and the watch that follows it, until the watch ends.
    async fn sync(&self, api: &Api<Service>) -> Result<(), StoreError> {
        let list = api.list(&ListParams::default()).await?;
        let params = WatchParams::default().from_version(list.resource_version.clone());
        self.replace(list.items);
        let mut events = api.watch(&params).await?;
        while let Some(ev) = events.next().await {
            self.apply(ev?);
        }
        Ok(())
    }
}

fn key(s: &Service) -> (String, String) {
    (s.metadata.namespace_str().to_owned(), s.metadata.name_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;

    fn svc(ns: &str, name: &str) -> Service {
        Service { metadata: ObjectMeta::named(name).in_namespace(ns), ..Default::default() }
    }

    fn names(v: Option<Vec<Service>>) -> Option<Vec<String>> {
        v.map(|v| v.iter().map(|s| s.metadata.name_str().to_owned()).collect())
    }

    #[test]
    fn unsynced_cache_answers_none_then_serves_one_namespace_in_name_order() {
        let cache = ServiceCache::default();
        assert_eq!(names(cache.in_namespace("a")), None);
        cache.replace(vec![svc("b", "x"), svc("a", "z"), svc("a", "y"), svc("ab", "w")]);
        assert_eq!(names(cache.in_namespace("a")), Some(vec!["y".into(), "z".into()]));
        assert_eq!(names(cache.in_namespace("c")), Some(vec![]));
    }

    #[test]
    fn watch_events_add_replace_and_remove_services() {
        let cache = ServiceCache::default();
        cache.replace(vec![svc("a", "x")]);
        cache.apply(TypedEvent::Added(svc("a", "y")));
        cache.apply(TypedEvent::Deleted(svc("a", "x")));
        let mut changed = svc("a", "y");
        changed.spec.cluster_ip = Some("127.192.0.9".into());
        cache.apply(TypedEvent::Modified(changed));
        let got = cache.in_namespace("a").unwrap_or_default();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].spec.cluster_ip.as_deref(), Some("127.192.0.9"));
    }
}
