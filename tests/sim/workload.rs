//! The simulated users: Deployments with Services, scaled, rolled out and poked at random.

use std::sync::Arc;
use std::time::Duration;

use orch_core::kinds::{Deployment, Pod, Service};
use orch_core::runtime::Clock;
use orch_core::store::{DeleteOptions, ListParams};
use orch_core::{Api, ObjectStore, StoreError};

use super::SimRng;

/// The shape of the workload.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    /// How many Deployments (each with a Service).
    pub deployments: usize,
    /// Replicas of each at the start: a random number in this range.
    pub replicas: (u32, u32),
    /// Time between user actions: a random time in this range.
    pub action_interval: (Duration, Duration),
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            deployments: 8,
            replicas: (50, 400),
            action_interval: (Duration::from_secs(5), Duration::from_secs(40)),
        }
    }
}

/// The manifest of Deployment `i`: requests, surge and toleration vary with the seed.
fn deployment(i: usize, replicas: u32, rng: &mut SimRng) -> Deployment {
    let cpu = [100, 250, 500, 1000][rng.below(4) as usize];
    let mem = [128, 256, 512, 2048][rng.below(4) as usize];
    let surge = [serde_json::json!("25%"), serde_json::json!(1), serde_json::json!("50%"), serde_json::json!(0)]
        [rng.below(4) as usize]
        .clone();
    let unavailable = if surge == serde_json::json!(0) {
        serde_json::json!(1)
    } else {
        [serde_json::json!("25%"), serde_json::json!(0), serde_json::json!("10%")][rng.below(3) as usize].clone()
    };
    // A third of the apps tolerate an unreachable node for 30 s instead of 300 s.
    let tolerations = if i % 3 == 0 {
        serde_json::json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
            "effect": "NoExecute", "tolerationSeconds": 30}])
    } else {
        serde_json::json!([])
    };
    let name = format!("app-{i}");
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "tolerations": tolerations,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{"name": "main", "image": format!("{name}:v1"),
                        "resources": {"requests": {"cpu": format!("{cpu}m"), "memory": format!("{mem}Mi")}}}]
                }
            }
        }
    }))
    .unwrap_or_else(|e| unreachable!("the workload's own manifest is valid: {e}"))
}

fn service(i: usize) -> Service {
    let name = format!("app-{i}");
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))
    .unwrap_or_else(|e| unreachable!("the workload's own manifest is valid: {e}"))
}

/// What the simulated users did, for the event journal.
pub type Journal = Arc<std::sync::Mutex<Vec<String>>>;

/// Creates the Deployments and Services, then acts at random until the simulation ends:
/// scales a Deployment, rolls out a new version, or deletes a pod.
pub async fn run(
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    config: WorkloadConfig,
    mut rng: SimRng,
    journal: Journal,
) {
    let deployments: Api<Deployment> = Api::namespaced(store.clone(), "default");
    let services: Api<Service> = Api::namespaced(store.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let note = |line: String| journal.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    for i in 0..config.deployments {
        let replicas = rng.between(u64::from(config.replicas.0), u64::from(config.replicas.1)) as u32;
        let d = deployment(i, replicas, &mut rng);
        let svc = service(i);
        let created = async {
            retry(&*clock, || deployments.create(&d)).await.and(retry(&*clock, || services.create(&svc)).await)
        };
        match created.await {
            Ok(()) => note(format!("create app-{i} replicas={replicas}")),
            Err(e) => note(format!("create app-{i} refused: {e}")),
        }
    }
    let mut version = vec![1u32; config.deployments];
    loop {
        let (lo, hi) = config.action_interval;
        let wait = lo + Duration::from_millis(rng.below(hi.saturating_sub(lo).as_millis() as u64 + 1));
        clock.sleep(wait).await;
        if config.deployments == 0 {
            continue;
        }
        let i = rng.below(config.deployments as u64) as usize;
        let name = format!("app-{i}");
        match rng.below(3) {
            0 => {
                let replicas = rng.between(u64::from(config.replicas.0), u64::from(config.replicas.1)) as i32;
                let done = retry_update(&*clock, &deployments, &name, |d| d.spec.replicas = Some(replicas)).await;
                note(format!("scale {name} to {replicas}: {done}"));
            }
            1 => {
                version[i] += 1;
                let image = format!("{name}:v{}", version[i]);
                let done = retry_update(&*clock, &deployments, &name, |d| {
                    if let Some(c) = d.spec.template.spec.containers.first_mut() {
                        c.image = image.clone();
                    }
                })
                .await;
                note(format!("roll out {image}: {done}"));
            }
            _ => {
                let Ok(list) = pods.list(&ListParams::default().labels(format!("app={name}"))).await else { continue };
                if list.items.is_empty() {
                    continue;
                }
                let victim = &list.items[rng.below(list.items.len() as u64) as usize];
                let r = pods.delete(victim.metadata.name_str(), &DeleteOptions::default()).await;
                note(format!("delete pod {}: {}", victim.metadata.name_str(), r.is_ok()));
            }
        }
    }
}

/// Retries `op` through outages; returns the refusal that retrying cannot change.
async fn retry<T, F, Fut>(clock: &dyn Clock, mut op: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    loop {
        match op().await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => return Ok(()),
            Err(e) if e.is_retryable() => clock.sleep(Duration::from_secs(1)).await,
            Err(e) => return Err(e),
        }
    }
}

/// Reads, changes and writes a Deployment, retrying conflicts and outages; whether it was written.
async fn retry_update(clock: &dyn Clock, api: &Api<Deployment>, name: &str, change: impl Fn(&mut Deployment)) -> bool {
    for _ in 0..30 {
        let mut d = match api.get(name).await {
            Ok(d) => d,
            Err(StoreError::NotFound { .. }) => return false,
            Err(_) => {
                clock.sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        change(&mut d);
        match api.update(&d).await {
            Ok(_) => return true,
            Err(StoreError::Conflict { .. }) => continue,
            Err(_) => clock.sleep(Duration::from_secs(1)).await,
        }
    }
    false
}
