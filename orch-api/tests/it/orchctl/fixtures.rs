//! Manifests and status writes the orchctl tests share.

use std::sync::Arc;

use orch_core::kinds::Pod;
use orch_core::store::WriteOptions;
use orch_core::{ObjectStore, Resource};
use serde_json::json;

pub const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
";

pub const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 127.192.0.10
  selector: {app: web}
  ports:
  - port: 80
";

pub fn pod_manifest(name: &str, ns: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{app: {app}}}\n\
         spec:\n  containers:\n  - name: c\n    image: busybox\n"
    )
}

/// Marks a pod running on `node` with one ready container restarted `restarts` times.
pub async fn mark_running(store: &Arc<dyn ObjectStore>, ns: &str, name: &str, node: &str, restarts: i64) {
    store.bind(ns, name, node).await.unwrap();
    let mut pod = store.get(&Pod::resource_type(), Some(ns), name).await.unwrap();
    pod.data.insert(
        "status".into(),
        json!({"phase": "Running", "podIP": "127.64.0.7", "containerStatuses": [
            {"name": "c", "ready": true, "restartCount": restarts, "image": "busybox", "imageID": "", "state": {"running": {}}}]}),
    );
    store.update_status(&Pod::resource_type(), pod, &WriteOptions::default()).await.unwrap();
}
