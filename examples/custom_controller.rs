//! A user-defined kind and its controller: each `Echo` gets a pod that prints its message, and
//! its status names that pod. `cargo run --example custom_controller`

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_controllers::{Action, Controller, Informers, Latch, ReconcileContext, Reconciler, Runtime};
use orch_core::kinds::{Container, Pod};
use orch_core::{Api, ObjectMeta, ObjectStore, OwnerReference, Resource, StoreError};
use orch_store::Registry;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The user kind: `demo.orch.io/v1 Echo`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
struct Echo {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: EchoSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<EchoStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
struct EchoSpec {
    message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EchoStatus {
    pod_name: String,
}

orch_core::resource!(Echo, group = "demo.orch.io", version = "v1", plural = "echoes", scope = Namespaced);

/// The controller: decide from the cached Echo, then write.
struct EchoController {
    store: Arc<dyn ObjectStore>,
}

#[async_trait]
impl Reconciler for EchoController {
    type Kind = Echo;
    type Error = StoreError;

    fn name(&self) -> &str {
        "echo"
    }

    async fn reconcile(&self, echo: Arc<Echo>, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        let ns = ctx.key.namespace_str();
        let pod_name = format!("echo-{}", ctx.key.name);
        let pods: Api<Pod> = Api::namespaced(self.store.clone(), ns);
        if pods.get_opt(&pod_name).await?.is_none() {
            let owner = OwnerReference::controller_of(
                Echo::api_version(),
                Echo::KIND,
                echo.metadata.name_str(),
                echo.metadata.uid.clone().unwrap_or_default(),
            );
            let mut pod = Pod { metadata: ObjectMeta::named(&pod_name), ..Default::default() };
            pod.metadata.owner_references.push(owner);
            pod.spec.containers.push(Container {
                name: "echo".into(),
                image: "busybox".into(),
                command: vec!["echo".into(), echo.spec.message.clone()],
                ..Default::default()
            });
            pods.create(&pod).await?;
        }
        let status = EchoStatus { pod_name };
        if echo.status.as_ref() != Some(&status) {
            let mut updated = (*echo).clone();
            updated.status = Some(status);
            Api::<Echo>::namespaced(self.store.clone(), ns).update_status(&updated).await?;
        }
        Ok(Action::await_change())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::in_memory().await?;
    registry.register_kind::<Echo>()?;
    let store: Arc<dyn ObjectStore> = Arc::new(registry);

    let informers = Informers::new(store.clone(), Runtime::tokio());
    let controller = Controller::new(EchoController { store: store.clone() }, &informers).owns::<Pod>();
    let stop = Latch::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { controller.run(stop).await }
    });

    let echoes: Api<Echo> = Api::namespaced(store.clone(), "default");
    let hello =
        Echo { metadata: ObjectMeta::named("hello"), spec: EchoSpec { message: "hi there".into() }, status: None };
    echoes.create(&hello).await?;

    for _ in 0..100 {
        if let Some(status) = echoes.get("hello").await?.status {
            let pod = Api::<Pod>::namespaced(store.clone(), "default").get(&status.pod_name).await?;
            println!("Echo hello -> pod {} running {:?}", status.pod_name, pod.spec.containers[0].command);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.set();
    running.await?;
    Ok(())
}
