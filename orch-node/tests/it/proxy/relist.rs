//! The proxy's watch survives a compacted history: on `Gone` it relists and catches up.

use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;
use orch_core::patch::Patch;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, WatchEvent, WatchParams, WatchStream,
    WriteOptions,
};
use orch_core::{DynamicObject, ResourceType, StoreError};
use tokio::sync::oneshot;

use super::*;

/// Delegates to a real store, except that the first resumed Endpoints watch hangs until the
/// test opens the gate and then reports `Gone`, as if the history had been compacted meanwhile.
struct GoneOnce {
    inner: Arc<dyn ObjectStore>,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
}

#[async_trait]
impl ObjectStore for GoneOnce {
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
        p: &Patch,
        o: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.inner.patch(rt, ns, name, p, o).await
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
        if rt.kind == "Endpoints" && p.resource_version.is_some() {
            let gate = self.gate.lock().unwrap().take();
            if let Some(gate) = gate {
                let gone = async move {
                    let _ = gate.await;
                    WatchEvent::Error(StoreError::Gone { requested: 1, compacted: 2 })
                };
                return Ok(futures::stream::once(gone).boxed());
            }
        }
        self.inner.watch(rt, ns, p).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_gone_relists_and_serves_endpoints_written_in_the_gap() {
    let _s = id_server("127.64.14.1:8080").await;
    let registry: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.unwrap());
    let (open_gate, gate) = oneshot::channel();
    let store: Arc<dyn ObjectStore> = Arc::new(GoneOnce { inner: registry, gate: Mutex::new(Some(gate)) });
    let c = Cluster { store: store.clone(), proxy: ServiceProxy::new(ProxyConfig::default()).spawn(store) };
    c.service("web", json!({"clusterIP": "127.192.0.14", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    // The frontend is up, without endpoints; the Endpoints watch is stuck in its gap.
    eventually("frontend", || async { c.proxy.proxy().backend().rules().first().map(|_| ()) }).await;
    c.endpoints("web", ready(&["127.64.14.1"], 8080)).await;
    open_gate.send(()).unwrap();
    // Only a relist can have brought the endpoints written during the gap.
    assert_eq!(eventually("relisted endpoints", || who("127.192.0.14:80")).await, "127.64.14.1:8080");
}
