//! The agent's pod watch survives a store that closes it: resumed on errors, relisted on Gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use orch_core::kinds::Pod;
use orch_core::patch::Patch;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, WatchEvent, WatchParams, WatchStream,
    WriteOptions,
};
use orch_core::{Api, DynamicObject, ObjectStore, Resource, ResourceType, StoreError};
use orch_node::agent::{AgentConfig, NodeAgent};
use orch_node::runtime::FakeRuntime;

use crate::common::{eventually, get_pod, sh_pod, store};

/// Delegates to a real store, but the first `broken` pod watches end at once: alternately with
/// `Gone` (the agent must relist) and with `Unavailable` (it must resume).
struct FlakyStore {
    inner: Arc<dyn ObjectStore>,
    broken: AtomicUsize,
    pod_watches: AtomicUsize,
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn create(&self, rt: &ResourceType, o: DynamicObject, w: &WriteOptions) -> Result<DynamicObject, StoreError> {
        self.inner.create(rt, o, w).await
    }
    async fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.inner.get(rt, ns, name).await
    }
    async fn list(&self, rt: &ResourceType, ns: Option<&str>, p: &ListParams) -> Result<ObjectList, StoreError> {
        self.inner.list(rt, ns, p).await
    }
    async fn update(&self, rt: &ResourceType, o: DynamicObject, w: &WriteOptions) -> Result<DynamicObject, StoreError> {
        self.inner.update(rt, o, w).await
    }
    async fn update_status(
        &self,
        rt: &ResourceType,
        o: DynamicObject,
        w: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.inner.update_status(rt, o, w).await
    }
    async fn patch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Patch,
        o: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.inner.patch(rt, ns, name, patch, o).await
    }
    async fn delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        o: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.inner.delete(rt, ns, name, o).await
    }
    async fn bind(&self, ns: &str, pod: &str, node: &str) -> Result<DynamicObject, StoreError> {
        self.inner.bind(ns, pod, node).await
    }
    async fn evict(&self, ns: &str, pod: &str, o: &DeleteOptions) -> Result<(), StoreError> {
        self.inner.evict(ns, pod, o).await
    }
    async fn watch(&self, rt: &ResourceType, ns: Option<&str>, p: &WatchParams) -> Result<WatchStream, StoreError> {
        if *rt == Pod::resource_type() {
            let n = self.pod_watches.fetch_add(1, Ordering::SeqCst);
            if n < self.broken.load(Ordering::SeqCst) {
                let err = if n % 2 == 0 {
                    StoreError::Gone { requested: 1, compacted: 2 }
                } else {
                    StoreError::Unavailable { message: "injected".into() }
                };
                return Ok(futures::stream::once(async move { WatchEvent::Error(err) }).boxed());
            }
        }
        self.inner.watch(rt, ns, p).await
    }
}

#[tokio::test]
async fn the_pod_watch_resumes_after_errors_and_relists_after_gone() {
    let real = store().await;
    let flaky =
        Arc::new(FlakyStore { inner: real.clone(), broken: AtomicUsize::new(4), pod_watches: AtomicUsize::new(0) });
    let config = AgentConfig::new("n1").log_port(None).retry_interval(Duration::from_millis(50));
    let agent =
        NodeAgent::new(config, flaky.clone(), Arc::new(FakeRuntime::new(Default::default()))).start().await.unwrap();
    // Past the broken watches (two relists, two resumes), the pod must arrive through a watch.
    eventually("the broken watches used up", Duration::from_secs(10), || async {
        (flaky.pod_watches.load(Ordering::SeqCst) > 4).then_some(())
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(real.clone(), "default");
    pods.create(&sh_pod("survives", "n1", "")).await.unwrap();
    eventually("pod running through a flaky watch", Duration::from_secs(10), || async {
        get_pod(&real, "survives").await.filter(|p| p.status.phase.as_deref() == Some("Running"))
    })
    .await;
    agent.stop().await;
}
