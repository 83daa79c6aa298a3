//! The agent's pod watch survives a store that closes it: resumed on errors, relisted on Gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use orch_core::kinds::Pod;
use orch_core::store::{LayeredStore, WatchEvent};
use orch_core::{Api, ObjectStore, Resource, StoreError};
use orch_node::agent::{AgentConfig, NodeAgent};
use orch_node::runtime::FakeRuntime;

use crate::common::{eventually, get_pod, sh_pod, store};
use crate::watch_faults::{WatchFaults, WatchHook};

/// A real store whose first `broken` pod watches end at once: alternately with `Gone` (the
/// agent must relist) and with `Unavailable` (it must resume). Returns the count of pod watches.
fn flaky(inner: Arc<dyn ObjectStore>, broken: usize) -> (Arc<LayeredStore<WatchFaults>>, Arc<AtomicUsize>) {
    let pod_watches = Arc::new(AtomicUsize::new(0));
    let counter = pod_watches.clone();
    let hook: WatchHook = Box::new(move |rt, _params| {
        if *rt != Pod::resource_type() {
            return None;
        }
        let n = counter.fetch_add(1, Ordering::SeqCst);
        (n < broken).then(|| {
            let err = if n % 2 == 0 {
                StoreError::Gone { requested: 1, compacted: 2 }
            } else {
                StoreError::Unavailable { message: "injected".into() }
            };
            futures::stream::once(async move { WatchEvent::Error(err) }).boxed()
        })
    });
    (Arc::new(WatchFaults::over(inner, hook)), pod_watches)
}

#[tokio::test]
async fn the_pod_watch_resumes_after_errors_and_relists_after_gone() {
    let real = store().await;
    let (flaky, pod_watches) = flaky(real.clone(), 4);
    let config = AgentConfig::new("n1").log_port(None).retry_interval(Duration::from_millis(50));
    let agent =
        NodeAgent::new(config, flaky.clone(), Arc::new(FakeRuntime::new(Default::default()))).start().await.unwrap();
    // Past the broken watches (two relists, two resumes), the pod must arrive through a watch.
    eventually("the broken watches used up", Duration::from_secs(10), || async {
        (pod_watches.load(Ordering::SeqCst) > 4).then_some(())
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
