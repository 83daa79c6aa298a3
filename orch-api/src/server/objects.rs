//! The object verbs: get, list, watch, create, update, patch, delete (and the `status` subresource).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use orch_core::patch::Patch;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ObjectList, PatchOptions, Preconditions, PropagationPolicy, Subresource, WatchEvent,
    WriteOptions,
};
use orch_core::{DynamicObject, StoreError};
use serde_json::{Map, Value, json};

use super::dispatch::Call;
use super::listener::ConnectionHandle;
use super::watch_queue::{QueueLimits, spawn_pump};
use super::{ServerState, body, respond};

/// Runs an object verb (the object itself or its `status`).
pub(crate) async fn run(st: &ServerState, call: &Call, bytes: Bytes) -> Response {
    let result = match call.verb {
        "get" => get(st, call).await,
        "list" => list(st, call).await,
        "watch" => return watch(st, call).await,
        "create" if call.path.subresource.is_none() => create(st, call, &bytes).await,
        "update" => update(st, call, &bytes).await,
        "patch" => patch(st, call, &bytes).await,
        "delete" if call.path.subresource.is_none() => delete(st, call, &bytes).await,
        "deletecollection" => delete_collection(st, call, &bytes).await,
        _ => return respond::method_not_allowed(call.parts.uri.path()),
    };
    result.unwrap_or_else(|e| respond::error(&e))
}

async fn get(st: &ServerState, call: &Call) -> Result<Response, StoreError> {
    let obj = st.store.get(&call.kind.resource_type, call.namespace(), call.name()).await?;
    Ok(respond::json(StatusCode::OK, &obj))
}

/// A list in Kubernetes' shape: `{"kind":"PodList","metadata":{"resourceVersion",..},"items":[..]}`.
pub(crate) fn list_body(call: &Call, list: &ObjectList) -> Value {
    let rt = &call.kind.resource_type;
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(list.resource_version));
    if let Some(token) = &list.continue_token {
        metadata.insert("continue".into(), json!(token));
    }
    if let Some(remaining) = list.remaining_item_count {
        metadata.insert("remainingItemCount".into(), json!(remaining));
    }
    json!({
        "apiVersion": rt.api_version(),
        "kind": format!("{}List", rt.kind),
        "metadata": metadata,
        "items": list.items,
    })
}

async fn list(st: &ServerState, call: &Call) -> Result<Response, StoreError> {
    let list = st.store.list(&call.kind.resource_type, call.namespace(), &call.query.list_params()).await?;
    Ok(respond::json(StatusCode::OK, &list_body(call, &list)))
}

/// A watch as a long-lived chunked response of JSON lines: refused with 429 over the watch
/// limit, and ended when its client stops reading (see [`super::watch_queue`]).
async fn watch(st: &ServerState, call: &Call) -> Response {
    let Ok(slot) = st.watch_slots.clone().try_acquire_owned() else {
        st.metrics.watch_refused();
        return respond::error(&StoreError::TooManyRequests {
            message: format!("too many open watches (the server serves at most {})", st.config.max_watches),
            retry_after_seconds: Some(1),
        });
    };
    let rt = call.kind.resource_type.clone();
    let stream = match st.store.watch(&rt, call.namespace(), &call.query.watch_params()).await {
        Ok(stream) => stream,
        Err(e) => return respond::error(&e),
    };
    let guard = st.metrics.watch_opened(&rt.plural);
    let counter = st.metrics.watch_event_counter(&rt.plural);
    let encoder = st.encoder.clone();
    let encode = move |event: &WatchEvent| {
        counter.inc();
        encoder.encode(event, &rt)
    };
    let limits = QueueLimits { bytes: st.config.watch_queue_bytes, slow_timeout: st.config.watch_slow_timeout };
    let connection = call.parts.extensions.get::<ConnectionHandle>().map(|h| h.0.clone());
    let slow = st.metrics.slow_watch_counter();
    let gauge = st.metrics.watch_queued_bytes_gauge();
    let lines = spawn_pump(stream, encode, limits, gauge, connection, move || {
        slow.inc();
    });
    // The watch counts as open (and holds its slot) until the response body is dropped.
    let lines = lines.map(move |line| {
        let _open = (&guard, &slot);
        line
    });
    let mut resp = Response::new(Body::from_stream(lines));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    resp
}

/// With `fieldValidation=Strict`, refuses a body with fields the kind does not declare.
fn check_fields(call: &Call, body: &Value) -> Result<(), StoreError> {
    if !call.query.strict_fields {
        return Ok(());
    }
    let unknown = super::unknown_fields(&call.kind.schema, body);
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
    Err(StoreError::bad_request(format!("strict decoding error: {}", list.join(", "))))
}

/// The object a create or update carries, placed at the request's path. In strict mode the
/// body is decoded once as JSON, checked for unknown fields, then turned into the object.
fn decode_write(call: &Call, bytes: &[u8]) -> Result<DynamicObject, StoreError> {
    let rt = &call.kind.resource_type;
    let (api_version, headers) = (rt.api_version(), &call.parts.headers);
    if !call.query.strict_fields {
        return body::decode_object(headers, bytes, &api_version, &rt.kind, call.namespace());
    }
    let value: Value = body::decode(headers, bytes)?;
    check_fields(call, &value)?;
    let obj = DynamicObject::from_value(value).map_err(|e| StoreError::bad_request(format!("request body: {e}")))?;
    body::place_object(obj, &api_version, &rt.kind, call.namespace())
}

/// A body that may be empty (delete options): `Null` when it is.
pub(crate) fn optional_body(call: &Call, bytes: &[u8]) -> Result<Value, StoreError> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(Value::Null) } else { body::decode(&call.parts.headers, bytes) }
}

fn write_options(call: &Call) -> WriteOptions {
    WriteOptions { dry_run: call.query.dry_run }
}

async fn create(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let rt = &call.kind.resource_type;
    let obj = decode_write(call, bytes)?;
    let created = st.store.create(rt, obj, &write_options(call)).await?;
    Ok(respond::json(StatusCode::CREATED, &created))
}

async fn update(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let rt = &call.kind.resource_type;
    let obj = decode_write(call, bytes)?;
    if obj.metadata.name.as_deref().unwrap_or_default() != call.name() {
        return Err(StoreError::bad_request(format!(
            "metadata.name: the name of the object ({:?}) does not match the name on the URL ({:?})",
            obj.metadata.name.as_deref().unwrap_or_default(),
            call.name()
        )));
    }
    let updated = match call.path.subresource.as_deref() {
        Some("status") => st.store.update_status(rt, obj, &write_options(call)).await?,
        _ => st.store.update(rt, obj, &write_options(call)).await?,
    };
    Ok(respond::json(StatusCode::OK, &updated))
}

/// The patch a request carries, by its content type.
pub(crate) fn decode_patch(call: &Call, bytes: &[u8]) -> Result<Patch, StoreError> {
    let content_type =
        call.parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if content_type.starts_with("application/apply-patch") {
        return Err(StoreError::UnsupportedMediaType {
            message: "server-side apply (application/apply-patch+yaml) is not supported yet; use a merge, JSON or \
                      strategic merge patch, or orchctl apply"
                .into(),
        });
    }
    let value: Value = body::decode(&axum::http::HeaderMap::new(), bytes)?;
    if !content_type.starts_with("application/json-patch") {
        check_fields(call, &value)?;
    }
    Ok(Patch::from_content_type(&content_type, value)?)
}

async fn patch(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let patch = decode_patch(call, bytes)?;
    let subresource =
        if call.path.subresource.as_deref() == Some("status") { Subresource::Status } else { Subresource::Main };
    let opts = PatchOptions { subresource, dry_run: call.query.dry_run };
    let patched = st.store.patch(&call.kind.resource_type, call.namespace(), call.name(), &patch, &opts).await?;
    Ok(respond::json(StatusCode::OK, &patched))
}

/// Delete options from a decoded body (Kubernetes' `DeleteOptions`, with `dryRun: ["All"]`;
/// `Null` for none) and the query.
pub(crate) fn delete_options(call: &Call, body: &Value) -> Result<DeleteOptions, StoreError> {
    let mut opts = DeleteOptions { dry_run: call.query.dry_run, ..DeleteOptions::default() };
    if let Some(policy) = body["propagationPolicy"].as_str().or(call.query.propagation_policy.as_deref()) {
        opts.propagation_policy = Some(match policy {
            "Orphan" => PropagationPolicy::Orphan,
            "Background" => PropagationPolicy::Background,
            "Foreground" => PropagationPolicy::Foreground,
            other => {
                return Err(StoreError::bad_request(format!(
                    "propagationPolicy: unsupported value {other:?} (Orphan, Background or Foreground)"
                )));
            }
        });
    }
    if body["orphanDependents"].as_bool() == Some(true) {
        opts.propagation_policy = Some(PropagationPolicy::Orphan);
    }
    opts.grace_period_seconds = body["gracePeriodSeconds"].as_i64().or(call.query.grace_period_seconds);
    if body["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All")) {
        opts.dry_run = true;
    }
    if let Some(pre) = body.get("preconditions").filter(|p| p.is_object()) {
        opts.preconditions = Some(Preconditions {
            uid: pre["uid"].as_str().map(str::to_string),
            resource_version: pre["resourceVersion"].as_str().map(str::to_string),
        });
    }
    Ok(opts)
}

fn delete_response(outcome: DeleteOutcome) -> Response {
    match outcome {
        DeleteOutcome::Deleted(obj) => respond::json(StatusCode::OK, &obj),
        DeleteOutcome::Pending(obj) => respond::json(StatusCode::ACCEPTED, &obj),
    }
}

async fn delete(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let opts = delete_options(call, &optional_body(call, bytes)?)?;
    let outcome = st.store.delete(&call.kind.resource_type, call.namespace(), call.name(), &opts).await?;
    Ok(delete_response(outcome))
}

/// Deletes every object the selectors match; answers the list of what was deleted.
async fn delete_collection(st: &ServerState, call: &Call, bytes: &[u8]) -> Result<Response, StoreError> {
    let opts = delete_options(call, &optional_body(call, bytes)?)?;
    let rt = &call.kind.resource_type;
    let mut params = call.query.list_params();
    params.limit = None;
    params.continue_token = None;
    let mut list = st.store.list(rt, call.namespace(), &params).await?;
    let mut deleted: Vec<DynamicObject> = Vec::with_capacity(list.items.len());
    for obj in list.items.drain(..) {
        let ns = obj.metadata.namespace.clone();
        let name = obj.metadata.name.clone().unwrap_or_default();
        match st.store.delete(rt, ns.as_deref(), &name, &opts).await {
            Ok(outcome) => deleted.push(outcome.object().clone()),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    list.items = deleted;
    list.continue_token = None;
    list.remaining_item_count = None;
    Ok(respond::json(StatusCode::OK, &list_body(call, &list)))
}
