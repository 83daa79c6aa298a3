//! Parses a Deployment and a Service written the way Kubernetes users write them, validates
//! them against the built-in kinds, and shows what orch understood.
//!
//! Run with `cargo run --example manifests`.

use orch_core::kinds::{Deployment, Service};
use orch_core::{KindRegistry, manifest};

const MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox
          command: [httpd, -f, -p, "8080"]
          ports: [{name: http, containerPort: 8080}]
          resources:
            requests: {cpu: 100m, memory: 32Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"#;

const BROKEN: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: Web_Server
spec:
  type: Nodeport
  ports: [{port: 70000, targetPort: http}]
"#;

fn main() {
    let kinds = KindRegistry::with_builtins();
    println!("orch knows {} built-in kinds:", kinds.kinds().len());
    for k in kinds.kinds() {
        println!("  {:<28} {}", k.api_version(), k.resource_type.kind);
    }

    println!("\nParsing a Deployment and a Service...");
    let objects =
        manifest::parse_checked(&kinds, MANIFEST).unwrap_or_else(|e| panic!("the demo manifest is valid: {e}"));
    for (info, obj) in &objects {
        println!("  {} {}/{}", info.resource_type.kind, obj.namespace(), obj.name());
    }
    let deployment: Deployment = objects[0].1.to_typed().expect("decodes as a Deployment");
    let service: Service = objects[1].1.to_typed().expect("decodes as a Service");
    let replicas = deployment.spec.replicas.unwrap_or(1);
    println!(
        "  the Deployment wants {replicas} replicas of {:?}; a rolling update may add {} and take down {} at a time",
        deployment.spec.template.spec.containers[0].image,
        deployment.spec.strategy.max_surge(replicas),
        deployment.spec.strategy.max_unavailable(replicas),
    );
    println!(
        "  the Service exposes port {} as {:?}, forwarding to the pods' port {}",
        service.spec.ports[0].port,
        service.spec.type_.as_deref().unwrap_or("ClusterIP"),
        service.spec.ports[0].target_port.as_ref().map(ToString::to_string).unwrap_or_default()
    );

    println!("\nAnd a broken Service, to show the errors:");
    match manifest::parse_checked(&kinds, BROKEN) {
        Ok(_) => println!("  (unexpectedly accepted)"),
        Err(e) => println!("  {e}"),
    }
}
