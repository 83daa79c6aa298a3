//! Helpers shared by the integration tests.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Container, Pod};
use orch_core::{Api, ObjectMeta, ObjectStore};
use orch_store::Registry;

pub async fn store() -> Arc<dyn ObjectStore> {
    Arc::new(Registry::in_memory().await.expect("registry"))
}

/// A fresh state directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "orch-node-it-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Polls `check` until it yields `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A pod of one `sh -c script` container, bound to `node`.
pub fn sh_pod(name: &str, node: &str, script: &str) -> Pod {
    let mut pod = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    pod.spec.node_name = Some(node.into());
    pod.spec.containers.push(Container {
        name: "main".into(),
        image: "sh".into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..Default::default()
    });
    pod
}

pub async fn get_pod(store: &Arc<dyn ObjectStore>, name: &str) -> Option<Pod> {
    let api: Api<Pod> = Api::namespaced(store.clone(), "default");
    api.get_opt(name).await.unwrap()
}

/// A node address of its own for each test (several agents share this machine).
pub fn node_ip(n: u8) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 1, 200, n)
}
