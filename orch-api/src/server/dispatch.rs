//! One entry for every request: authenticate, route, authorize, run, then count and audit.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use orch_core::StoreError;
use orch_core::kind_registry::KindInfo;
use serde_json::json;

use super::auth::{NodeRestriction, RequestAttributes, UserInfo, node_name_of};
use super::listener::ConnectionHandle;
use super::{ServerState, discovery, objects, openapi, respond};
use crate::path::ResourcePath;
use crate::query::Query;

/// A resource request after routing: what it targets and wants.
pub(crate) struct Call {
    pub path: ResourcePath,
    pub kind: Arc<KindInfo>,
    pub verb: &'static str,
    pub query: Query,
    pub parts: axum::http::request::Parts,
}

impl Call {
    /// The namespace of the request, `None` for cluster scope or all namespaces.
    pub fn namespace(&self) -> Option<&str> {
        self.path.namespace.as_deref()
    }

    /// The object name of the request (empty for collections).
    pub fn name(&self) -> &str {
        self.path.name.as_deref().unwrap_or_default()
    }
}

pub(crate) async fn handle(State(st): State<Arc<ServerState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let user = match authenticate(&st, &parts) {
        Ok(user) => user,
        Err(e) => {
            st.metrics.observe("unknown", "", e.http_status(), started.elapsed());
            return respond::error(&e);
        }
    };
    let (verb, resource, resp) = match ResourcePath::parse(parts.uri.path()) {
        Ok(Some(path)) => resource_request(&st, user.as_ref(), parts, body, path).await,
        Ok(None) => ("get", String::new(), non_resource(&st, &parts, user.as_ref()).await),
        Err(e) => ("unknown", String::new(), respond::error(&e)),
    };
    st.metrics.observe(verb, &resource, resp.status().as_u16(), started.elapsed());
    resp
}

/// The caller: `Ok(None)` when authentication is off.
fn authenticate(st: &ServerState, parts: &axum::http::request::Parts) -> Result<Option<UserInfo>, StoreError> {
    let Some(authn) = &st.config.authenticator else { return Ok(None) };
    let public = matches!(parts.uri.path(), "/healthz" | "/readyz" | "/livez" | "/version");
    match authn.authenticate(&parts.headers) {
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) if public => Ok(Some(UserInfo { name: "system:anonymous".into(), groups: vec![] })),
        Ok(None) => Err(StoreError::Unauthorized { message: "no credentials: send a bearer token".into() }),
        Err(message) => Err(StoreError::Unauthorized { message }),
    }
}

async fn non_resource(st: &ServerState, parts: &axum::http::request::Parts, user: Option<&UserInfo>) -> Response {
    if parts.method != Method::GET {
        return respond::method_not_allowed(parts.uri.path());
    }
    let path = parts.uri.path().trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let anonymous = user.is_some_and(|u| u.name == "system:anonymous");
    let not_found = || respond::error(&not_found_path(path));
    let kinds = || st.registry.kinds();
    match segs.as_slice() {
        ["healthz"] | ["livez"] => respond::bytes_response(StatusCode::OK, "text/plain", b"ok".to_vec()),
        ["readyz"] => readyz(st).await,
        ["version"] => respond::json(
            StatusCode::OK,
            &json!({"major": "1", "minor": "30", "gitVersion": st.config.version, "platform": "linux/amd64"}),
        ),
        _ if anonymous => respond::error(&StoreError::Unauthorized { message: "no credentials".into() }),
        ["metrics"] => {
            respond::bytes_response(StatusCode::OK, "text/plain; version=0.0.4", st.metrics.render().into_bytes())
        }
        ["api"] => {
            let addr = st.address.get().cloned().unwrap_or_default();
            respond::json(StatusCode::OK, &discovery::api_versions(&addr))
        }
        ["apis"] => respond::json(StatusCode::OK, &discovery::api_group_list(&kinds())),
        ["apis", group] => {
            discovery::group_document(&kinds(), group).map_or_else(not_found, |d| respond::json(StatusCode::OK, &d))
        }
        ["api", version] => found(discovery::resource_list(&kinds(), "", version)).unwrap_or_else(not_found),
        ["apis", group, version] => found(discovery::resource_list(&kinds(), group, version)).unwrap_or_else(not_found),
        ["openapi", "v3"] => respond::json(StatusCode::OK, &openapi::index(&kinds())),
        ["openapi", "v3", "api", version] => found(openapi::document(&kinds(), "", version)).unwrap_or_else(not_found),
        ["openapi", "v3", "apis", group, version] => {
            found(openapi::document(&kinds(), group, version)).unwrap_or_else(not_found)
        }
        _ => not_found(),
    }
}

fn found(doc: Option<serde_json::Value>) -> Option<Response> {
    doc.map(|d| respond::json(StatusCode::OK, &d))
}

/// Ready while the key-value store under the registry answers.
async fn readyz(st: &ServerState) -> Response {
    match st.registry.kv().status().await {
        Ok(_) => respond::bytes_response(StatusCode::OK, "text/plain", b"ok".to_vec()),
        Err(e) => respond::error(&StoreError::Unavailable { message: format!("the store does not answer: {e}") }),
    }
}

fn not_found_path(path: &str) -> StoreError {
    StoreError::NotFound { resource: "path".into(), name: path.to_string() }
}

/// The verb a method and path ask for, in RBAC's vocabulary.
fn verb_of(method: &Method, path: &ResourcePath, query: &Query) -> Option<&'static str> {
    let named = path.name.is_some();
    Some(match *method {
        Method::GET if !named && query.watch => "watch",
        Method::GET if !named => "list",
        Method::GET => "get",
        Method::POST if !named => "create",
        Method::POST if path.subresource.is_some() => "create",
        Method::PUT if named => "update",
        Method::PATCH if named => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

async fn resource_request(
    st: &ServerState,
    user: Option<&UserInfo>,
    parts: axum::http::request::Parts,
    body: Body,
    path: ResourcePath,
) -> (&'static str, String, Response) {
    let resource = match &path.subresource {
        Some(sub) => format!("{}/{sub}", path.plural),
        None => path.plural.clone(),
    };
    let Some(kind) = st.registry.kind_by_plural(&path.group, &path.version, &path.plural) else {
        return ("unknown", resource, respond::error(&not_found_path(parts.uri.path())));
    };
    if path.namespace.is_some() && !kind.resource_type.namespaced() {
        return ("unknown", resource, respond::error(&not_found_path(parts.uri.path())));
    }
    let query = match Query::parse(parts.uri.query().unwrap_or_default()) {
        Ok(q) => q,
        Err(e) => return ("unknown", resource, respond::error(&e)),
    };
    let Some(verb) = verb_of(&parts.method, &path, &query) else {
        return ("unknown", resource, respond::method_not_allowed(parts.uri.path()));
    };
    let call = Call { path, kind, verb, query, parts };
    let body = if matches!(verb, "create" | "update" | "patch" | "delete") {
        let receiving = call.parts.extensions.get::<ConnectionHandle>().map(|c| c.0.receiving_body());
        let read = super::body::read(&call.parts.headers, body, st.config.max_body_bytes, st.config.body_read_timeout);
        let read = read.await;
        drop(receiving);
        match read {
            Ok(bytes) => bytes,
            Err(e) => return (verb, resource, respond::error(&e)),
        }
    } else {
        bytes::Bytes::new()
    };
    let attrs = RequestAttributes {
        verb: verb.to_string(),
        group: call.path.group.clone(),
        resource: resource.clone(),
        namespace: call.path.namespace.clone().unwrap_or_default(),
        name: call.name().to_string(),
    };
    if let Some(user) = user {
        if let Err(e) = authorize(st, user, &attrs, &call, &body).await {
            return (verb, resource, respond::error(&e));
        }
    }
    let resp = match call.path.subresource.as_deref() {
        None | Some("status") => objects::run(st, &call, body).await,
        Some(sub) => super::subresources::run(st, &call, sub, body).await,
    };
    if !matches!(verb, "get" | "list" | "watch") {
        if let Some(audit) = &st.audit {
            let rec = super::AuditRecord {
                time: String::new(),
                user: user.map_or("system:anonymous", |u| u.name.as_str()),
                verb,
                group: &call.path.group,
                resource: &resource,
                namespace: &attrs.namespace,
                name: &attrs.name,
                code: resp.status().as_u16(),
            };
            audit.record(st.registry.clock().as_ref(), rec);
        }
    }
    (verb, resource, resp)
}

/// Authorizes a request: node identities by the node rules (which may read the stored pod),
/// everyone else by the configured authorizer; denied when there is none.
async fn authorize(
    st: &ServerState,
    user: &UserInfo,
    attrs: &RequestAttributes,
    call: &Call,
    body: &[u8],
) -> Result<(), StoreError> {
    let forbidden = || StoreError::Forbidden {
        message: format!(
            "user {:?} cannot {} resource {:?} in API group {:?}{}",
            user.name,
            attrs.verb,
            attrs.resource,
            attrs.group,
            if attrs.namespace.is_empty() { String::new() } else { format!(" in the namespace {:?}", attrs.namespace) }
        ),
    };
    if user.in_group(super::auth::ADMIN_GROUP) {
        return Ok(());
    }
    if let Some(node) = node_name_of(user) {
        let name = if attrs.name.is_empty() && attrs.verb == "create" {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["metadata"]["name"].as_str().map(str::to_string))
                .unwrap_or_default()
        } else {
            attrs.name.clone()
        };
        let pod_write = attrs.group.is_empty()
            && (attrs.resource == "pods" || attrs.resource == "pods/status")
            && matches!(attrs.verb.as_str(), "update" | "patch" | "delete");
        let current = if pod_write {
            match st.store.get(&call.kind.resource_type, call.namespace(), call.name()).await {
                Ok(pod) => Some(pod),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        return if NodeRestriction::allows(node, attrs, &name, current.as_ref()) { Ok(()) } else { Err(forbidden()) };
    }
    match &st.config.authorizer {
        Some(authz) if authz.allows(user, attrs) => Ok(()),
        _ => Err(forbidden()),
    }
}
