//! The proxy's watch survives a compacted history: on `Gone` it relists and catches up.

use std::sync::Mutex;

use futures::StreamExt;
use orch_core::StoreError;
use orch_core::store::{LayeredStore, WatchEvent};
use tokio::sync::oneshot;

use crate::watch_faults::{WatchFaults, WatchHook};

use super::*;

/// A real store whose first resumed Endpoints watch hangs until the test opens the gate and then
/// reports `Gone`, as if the history had been compacted meanwhile.
fn gone_once(inner: Arc<dyn ObjectStore>, gate: oneshot::Receiver<()>) -> LayeredStore<WatchFaults> {
    let gate = Mutex::new(Some(gate));
    let hook: WatchHook = Box::new(move |rt, p| {
        if rt.kind != "Endpoints" || p.resource_version.is_none() {
            return None;
        }
        let gate = gate.lock().unwrap().take()?;
        let gone = async move {
            let _ = gate.await;
            WatchEvent::Error(StoreError::Gone { requested: 1, compacted: 2 })
        };
        Some(futures::stream::once(gone).boxed())
    });
    WatchFaults::over(inner, hook)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_gone_relists_and_serves_endpoints_written_in_the_gap() {
    let _s = id_server("127.64.14.1:8080").await;
    let registry: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.unwrap());
    let (open_gate, gate) = oneshot::channel();
    let store: Arc<dyn ObjectStore> = Arc::new(gone_once(registry, gate));
    let c = Cluster { store: store.clone(), proxy: ServiceProxy::new(ProxyConfig::default()).spawn(store) };
    c.service("web", json!({"clusterIP": "127.192.0.14", "ports": [{"port": 80, "targetPort": 8080}]})).await;
    // The frontend is up, without endpoints; the Endpoints watch is stuck in its gap.
    eventually("frontend", || async { c.proxy.proxy().backend().rules().first().map(|_| ()) }).await;
    c.endpoints("web", ready(&["127.64.14.1"], 8080)).await;
    open_gate.send(()).unwrap();
    // Only a relist can have brought the endpoints written during the gap.
    assert_eq!(eventually("relisted endpoints", || who("127.192.0.14:80")).await, "127.64.14.1:8080");
}
