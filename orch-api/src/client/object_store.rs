//! `ObjectStore` for `HttpClient`: each call one REST request.

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use orch_core::patch::Patch;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, ObjectStore, PatchOptions, PropagationPolicy, Subresource,
    WatchParams, WatchStream, WriteOptions,
};
use orch_core::{DynamicObject, Resource, ResourceType, StoreError, kinds::Pod};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpClient;
use super::transport::Payload;
use crate::path::ResourcePath;
use crate::query::Query;

fn json_payload(value: &impl serde::Serialize) -> Result<Payload, StoreError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::bad_request(format!("encoding the request: {e}")))?;
    Ok(Payload { content_type: "application/json", bytes: Bytes::from(bytes) })
}

fn decode_object(body: &[u8]) -> Result<DynamicObject, StoreError> {
    serde_json::from_slice(body).map_err(|e| StoreError::internal(format!("decoding the server's answer: {e}")))
}

fn with_query(path: ResourcePath, query: &Query) -> String {
    let q = query.encode();
    if q.is_empty() { path.to_string() } else { format!("{path}?{q}") }
}

fn dry_run(dry: bool) -> Query {
    Query { dry_run: dry, ..Query::default() }
}

/// Kubernetes' wire form of delete options.
fn delete_body(opts: &DeleteOptions) -> Value {
    let mut body = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
    if let Some(policy) = opts.propagation_policy {
        body["propagationPolicy"] = json!(match policy {
            PropagationPolicy::Orphan => "Orphan",
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Foreground => "Foreground",
        });
    }
    if let Some(g) = opts.grace_period_seconds {
        body["gracePeriodSeconds"] = json!(g);
    }
    if let Some(pre) = &opts.preconditions {
        body["preconditions"] = json!({"uid": pre.uid, "resourceVersion": pre.resource_version});
    }
    if opts.dry_run {
        body["dryRun"] = json!(["All"]);
    }
    body
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    #[serde(default)]
    resource_version: String,
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
    #[serde(default)]
    remaining_item_count: Option<i64>,
}

#[derive(Deserialize)]
struct WireList {
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<DynamicObject>,
}

impl HttpClient {
    async fn write(&self, method: Method, url: &str, payload: Payload) -> Result<DynamicObject, StoreError> {
        let (_, body) = self.transport.send(method, url, Some(payload)).await?;
        decode_object(&body)
    }

    fn object_path(rt: &ResourceType, obj: &DynamicObject) -> Result<ResourcePath, StoreError> {
        let name = obj
            .metadata
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| StoreError::bad_request("metadata.name: required value"))?;
        Ok(ResourcePath::object(rt, obj.metadata.namespace.as_deref(), name))
    }
}

#[async_trait]
impl ObjectStore for HttpClient {
    async fn create(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        let path = ResourcePath::collection(rt, obj.metadata.namespace.as_deref());
        self.write(Method::POST, &with_query(path, &dry_run(opts.dry_run)), json_payload(&obj)?).await
    }

    async fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        let (_, body) =
            self.transport.send(Method::GET, &ResourcePath::object(rt, namespace, name).to_string(), None).await?;
        decode_object(&body)
    }

    async fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, StoreError> {
        let url = with_query(ResourcePath::collection(rt, namespace), &Query::from_list(params));
        let (_, body) = self.transport.send(Method::GET, &url, None).await?;
        let list: WireList =
            serde_json::from_slice(&body).map_err(|e| StoreError::internal(format!("decoding the list: {e}")))?;
        let mut items = list.items;
        for item in &mut items {
            if item.types.kind.is_empty() {
                item.types.kind = rt.kind.to_string();
                item.types.api_version = rt.api_version();
            }
        }
        Ok(ObjectList {
            resource_version: list.metadata.resource_version,
            continue_token: list.metadata.continue_token.filter(|t| !t.is_empty()),
            remaining_item_count: list.metadata.remaining_item_count,
            items,
        })
    }

    async fn update(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        let path = Self::object_path(rt, &obj)?;
        self.write(Method::PUT, &with_query(path, &dry_run(opts.dry_run)), json_payload(&obj)?).await
    }

    async fn update_status(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        let path = Self::object_path(rt, &obj)?.subresource("status");
        self.write(Method::PUT, &with_query(path, &dry_run(opts.dry_run)), json_payload(&obj)?).await
    }

    async fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Patch,
        opts: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        let mut path = ResourcePath::object(rt, namespace, name);
        if opts.subresource == Subresource::Status {
            path = path.subresource("status");
        }
        let bytes = serde_json::to_vec(&patch.body()).map_err(|e| StoreError::bad_request(e.to_string()))?;
        let payload = Payload { content_type: patch.content_type(), bytes: Bytes::from(bytes) };
        self.write(Method::PATCH, &with_query(path, &dry_run(opts.dry_run)), payload).await
    }

    async fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        let url = ResourcePath::object(rt, namespace, name).to_string();
        let (status, body) = self.transport.send(Method::DELETE, &url, Some(json_payload(&delete_body(opts))?)).await?;
        let obj = decode_object(&body)?;
        Ok(if status == StatusCode::ACCEPTED { DeleteOutcome::Pending(obj) } else { DeleteOutcome::Deleted(obj) })
    }

    async fn bind(&self, namespace: &str, pod: &str, node_name: &str) -> Result<DynamicObject, StoreError> {
        let path = ResourcePath::object(&Pod::resource_type(), Some(namespace), pod).subresource("binding");
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        });
        let query = Query { return_object: true, ..Query::default() };
        self.write(Method::POST, &with_query(path, &query), json_payload(&binding)?).await
    }

    async fn evict(&self, namespace: &str, pod: &str, opts: &DeleteOptions) -> Result<(), StoreError> {
        let path = ResourcePath::object(&Pod::resource_type(), Some(namespace), pod).subresource("eviction");
        let eviction = json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
            "deleteOptions": delete_body(opts),
        });
        self.transport.send(Method::POST, &path.to_string(), Some(json_payload(&eviction)?)).await?;
        Ok(())
    }

    async fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        super::watch::start(self.transport.clone(), rt.clone(), namespace.map(str::to_string), params.clone()).await
    }
}
