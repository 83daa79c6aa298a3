//! `rollout status`: waits on the Deployment's status, with lines or a live bar, and times out.

use std::sync::Arc;
use std::time::Duration;

use orch_api::Environment;
use orch_core::kinds::Deployment;
use orch_core::store::WriteOptions;
use orch_core::{ObjectStore, Resource};
use serde_json::json;

use super::fixtures::DEPLOYMENT;
use super::{orchctl, orchctl_env, store, write};

/// Writes the deployment's status as a controller would.
async fn set_status(s: &Arc<dyn ObjectStore>, updated: i64, available: i64) {
    let mut d = s.get(&Deployment::resource_type(), Some("default"), "web").await.unwrap();
    let generation = d.metadata.generation.unwrap_or(1);
    d.data.insert(
        "status".into(),
        json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": updated,
               "readyReplicas": available, "availableReplicas": available}),
    );
    s.update_status(&Deployment::resource_type(), d, &WriteOptions::default()).await.unwrap();
}

async fn deployed() -> Arc<dyn ObjectStore> {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let o = orchctl(&s, &["apply", "-f", &write(dir.path(), "d.yaml", DEPLOYMENT)]).await;
    assert_eq!(o.code, 0, "{}", o.err);
    s
}

#[tokio::test]
async fn rollout_status_prints_progress_lines_and_finishes_when_rolled_out() {
    let s = deployed().await;
    let controller = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        set_status(&s, 2, 1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        set_status(&s, 2, 2).await;
    };
    let (o, ()) = tokio::join!(orchctl(&s, &["rollout", "status", "deployment/web", "--timeout=10s"]), controller);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        o.out,
        "Waiting for deployment spec update to be observed...\n\
         Waiting for deployment \"web\" rollout to finish: 1 of 2 updated replicas are available...\n\
         deployment \"web\" successfully rolled out\n"
    );
}

#[tokio::test]
async fn rollout_status_on_a_terminal_redraws_a_bar() {
    let s = deployed().await;
    set_status(&s, 2, 1).await;
    let controller = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        set_status(&s, 2, 2).await;
    };
    let env = Environment::default().terminal(true);
    let (o, ()) = tokio::join!(orchctl_env(&s, &["rollout", "status", "deploy", "web"], &env), controller);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.out.starts_with("\r\x1b[2K[###############---------------] 2/2 updated, 1/2 available"), "{:?}", o.out);
    assert!(o.out.ends_with("\r\x1b[2Kdeployment \"web\" successfully rolled out\n"), "{:?}", o.out);
}

#[tokio::test]
async fn rollout_status_times_out_and_once_mode_returns_at_once() {
    let s = deployed().await;
    let o = orchctl(&s, &["rollout", "status", "deployment/web", "--timeout=300ms"]).await;
    assert_eq!(o.code, 1);
    assert_eq!(o.err, "error: timed out waiting for the condition: deployment \"web\" rollout to finish\n");
    let once = orchctl(&s, &["rollout", "status", "deployment/web", "--watch=false"]).await;
    assert_eq!((once.code, once.out.as_str()), (0, "Waiting for deployment spec update to be observed...\n"));
    let missing = orchctl(&s, &["rollout", "status", "deployment/nope"]).await;
    assert_eq!(missing.err, "Error from server (NotFound): deployments.apps \"nope\" not found\n");
}
