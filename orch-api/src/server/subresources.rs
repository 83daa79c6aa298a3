//! Subresources beyond `status`: `scale`, `pods/binding`, `pods/eviction` and `pods/log`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orch_core::kinds::Node;
use orch_core::{DynamicObject, StoreError};
use serde_json::{Value, json};

use super::dispatch::Call;
use super::objects::{decode_patch, delete_options, optional_body};
use super::{ServerState, body, respond};

/// The HTTP client the server uses to reach node agents (for logs).
pub(crate) struct NodeClient {
    client: Client<HttpConnector, http_body_util::Empty<Bytes>>,
}

impl NodeClient {
    pub fn new() -> Self {
        NodeClient { client: Client::builder(TokioExecutor::new()).build_http() }
    }
}

/// Runs a subresource request.
pub(crate) async fn run(st: &ServerState, call: &Call, sub: &str, bytes: Bytes) -> Response {
    let rt = &call.kind.resource_type;
    let result = match (sub, rt.group.as_ref(), rt.plural.as_ref(), call.verb) {
        ("scale", "apps", "deployments" | "replicasets", "get") => get_scale(st, call).await,
        ("scale", "apps", "deployments" | "replicasets", "update" | "patch") => write_scale(st, call, &bytes).await,
        ("binding", "", "pods", "create") => binding(st, call, &bytes).await,
        ("eviction", "", "pods", "create") => eviction(st, call, &bytes).await,
        ("log", "", "pods", "get") => logs(st, call).await,
        _ => return respond::method_not_allowed(call.parts.uri.path()),
    };
    result.unwrap_or_else(|e| respond::error(&e))
}

/// The label selector of a workload in its string form (`app=web,tier in (a,b)`).
fn selector_string(spec_selector: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = spec_selector["matchLabels"].as_object() {
        parts.extend(labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())));
    }
    for expr in spec_selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = expr["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expr["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        parts.push(match expr["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "DoesNotExist" => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    parts.join(",")
}

/// The `autoscaling/v1` Scale of a Deployment or ReplicaSet.
fn scale_of(obj: &DynamicObject) -> Value {
    let spec = obj.data.get("spec").cloned().unwrap_or(Value::Null);
    let status = obj.data.get("status").cloned().unwrap_or(Value::Null);
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": obj.metadata.name,
            "namespace": obj.metadata.namespace,
            "uid": obj.metadata.uid,
            "resourceVersion": obj.metadata.resource_version,
            "creationTimestamp": obj.metadata.creation_timestamp,
        },
        "spec": {"replicas": spec["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": status["replicas"].as_i64().unwrap_or(0), "selector": selector_string(&spec["selector"])},
    })
}

async fn get_scale(st: &ServerState, call: &Call) -> Result<Response, StoreError> {
    let obj = st.store.get(&call.kind.resource_type, call.namespace(), call.name()).await?;
    Ok(respond::json(StatusCode::OK, &scale_of(&obj)))
}

/// PUT or PATCH of a Scale: sets `spec.replicas`, honouring the Scale's resourceVersion.
async fn write_scale(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let rt = &call.kind.resource_type;
    let mut obj = st.store.get(rt, call.namespace(), call.name()).await?;
    let scale: Value = if call.verb == "patch" {
        decode_patch(call, bytes)?.apply("Scale", &scale_of(&obj))?
    } else {
        body::decode(&call.parts.headers, bytes)?
    };
    let replicas = scale["spec"]["replicas"]
        .as_i64()
        .filter(|r| (0..=i64::from(i32::MAX)).contains(r))
        .ok_or_else(|| StoreError::bad_request("spec.replicas: must be a non-negative integer"))?;
    if let Some(rv) = scale["metadata"]["resourceVersion"].as_str().filter(|rv| !rv.is_empty()) {
        obj.metadata.resource_version = Some(rv.to_string());
    }
    let spec = obj.data.entry("spec").or_insert_with(|| json!({}));
    if let Some(spec) = spec.as_object_mut() {
        spec.insert("replicas".into(), json!(replicas));
    }
    let updated = st.store.update(rt, obj, &orch_core::store::WriteOptions { dry_run: call.query.dry_run }).await?;
    Ok(respond::json(StatusCode::OK, &scale_of(&updated)))
}

/// `pods/{name}/binding`: the body is a `Binding` whose `target.name` is the node.
async fn binding(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let binding: Value = body::decode(&call.parts.headers, bytes)?;
    let node = binding["target"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| StoreError::bad_request("target.name: required value (the node to bind to)"))?;
    if let Some(name) = binding["metadata"]["name"].as_str().filter(|n| *n != call.name()) {
        return Err(StoreError::bad_request(format!(
            "metadata.name: the binding is for {name:?} but the URL names pod {:?}",
            call.name()
        )));
    }
    let pod = st.store.bind(call.namespace().unwrap_or_default(), call.name(), node).await?;
    Ok(if call.query.return_object {
        respond::json(StatusCode::CREATED, &pod)
    } else {
        respond::success(StatusCode::CREATED)
    })
}

/// `pods/{name}/eviction`: the body is a `policy/v1` Eviction with optional `deleteOptions`.
async fn eviction(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let eviction = optional_body(call, bytes)?;
    let opts = delete_options(call, &eviction["deleteOptions"])?;
    st.store.evict(call.namespace().unwrap_or_default(), call.name(), &opts).await?;
    Ok(respond::success(StatusCode::CREATED))
}

/// `pods/{name}/log`: proxied to the node agent's log endpoint
/// (`GET http://{node address}:{agent port}/containerLogs/{namespace}/{pod}/{container}`).
async fn logs(st: &ServerState, call: &Call) -> Result<Response, StoreError> {
    let ns = call.namespace().unwrap_or_default();
    let pod = st.store.get(&call.kind.resource_type, Some(ns), call.name()).await?;
    let containers: Vec<String> = pod
        .data
        .get("spec")
        .and_then(|s| s["containers"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let container = match (&call.query.container, containers.as_slice()) {
        (Some(c), _) if containers.contains(c) => c.clone(),
        (Some(c), _) => {
            return Err(StoreError::bad_request(format!("container {c:?} is not valid for pod {:?}", call.name())));
        }
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(StoreError::bad_request(format!(
                "a container name must be specified for pod {:?}, choose one of: {containers:?}",
                call.name()
            )));
        }
    };
    let node_name = pod.field_str("spec.nodeName").filter(|n| !n.is_empty()).ok_or_else(|| {
        StoreError::bad_request(format!("pod {:?} is not scheduled to a node yet, so it has no logs", call.name()))
    })?;
    let node_obj = st.store.get(&<Node as orch_core::Resource>::resource_type(), None, &node_name).await?;
    let node: Node = node_obj.to_typed().map_err(|e| StoreError::internal(format!("node {node_name:?}: {e}")))?;
    let status = node.status;
    let port = status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|k| k.port).filter(|p| *p > 0);
    let address = status
        .addresses
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .or(status.addresses.first())
        .map(|a| a.address.clone());
    let (Some(address), Some(port)) = (address, port) else {
        return Err(StoreError::Unavailable {
            message: format!("node {node_name:?} publishes no agent address and port for logs"),
        });
    };
    let query = crate::query::Query {
        follow: call.query.follow,
        tail_lines: call.query.tail_lines,
        previous: call.query.previous,
        ..Default::default()
    }
    .encode();
    let uri = format!("http://{address}:{port}/containerLogs/{ns}/{}/{container}?{query}", call.name());
    let uri: axum::http::Uri = uri.parse().map_err(|e| StoreError::internal(format!("log URL {uri}: {e}")))?;
    let resp = st.node_client.client.get(uri).await.map_err(|e| StoreError::Unavailable {
        message: format!("cannot reach the agent of node {node_name:?} at {address}:{port}: {e}"),
    })?;
    let code = resp.status();
    let stream = resp.into_body().into_data_stream().map_err(std::io::Error::other);
    let mut out = Response::new(Body::from_stream(stream));
    *out.status_mut() = code;
    out.headers_mut().insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_carries_replicas_and_the_selector_string() {
        let mut d = DynamicObject::new("apps/v1", "Deployment", orch_core::ObjectMeta::named("web"));
        d.data.insert(
            "spec".into(),
            json!({"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                   "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}}),
        );
        d.data.insert("status".into(), json!({"replicas": 2}));
        let s = scale_of(&d);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"]["replicas"], 2);
        assert_eq!(s["status"]["selector"], "app=web,tier in (a,b)");
    }
}
