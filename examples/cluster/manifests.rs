//! What the demo applies: a Deployment of three demo servers and a NodePort Service.

/// The demo servers listen on this port.
pub const PORT: u16 = 8080;

/// The demo Deployment and Service as a manifest; the pods run `program` (this example).
pub fn app(program: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: hello, namespace: default}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: hello}}}}
  template:
    metadata: {{labels: {{app: hello}}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: hello
        image: {program}
        env:
        - {{name: {env}, value: "1"}}
        - {{name: PORT, value: "{PORT}"}}
        - name: POD_IP
          valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}
        - name: POD_NAME
          valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
        ports: [{{name: http, containerPort: {PORT}}}]
        readinessProbe:
          tcpSocket: {{port: http}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: hello, namespace: default}}
spec:
  type: NodePort
  selector: {{app: hello}}
  ports: [{{port: 80, targetPort: http}}]
"#,
        env = super::demo_server::DEMO_ENV
    )
}
