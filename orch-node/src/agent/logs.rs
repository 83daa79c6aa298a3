//! The agent's log endpoint: `GET /containerLogs/{namespace}/{pod}/{container}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::runtime::{ContainerRuntime, ListFilter, LogOptions};

/// The path of one container's log on an agent's log endpoint:
/// `GET /containerLogs/{namespace}/{pod}/{container}`.
///
/// The endpoint listens on the node's address (its `InternalIP`) at the port the agent reports
/// as `status.daemonEndpoints.kubeletEndpoint.Port` of its Node; the API server proxies
/// `pods/{name}/log` here. Query parameters: `follow=true` streams until the container exits;
/// `tailLines=N` starts with the last N lines; `previous=true` reads the attempt before the
/// current one (while it has not been removed). The body is the plain text output (stdout and
/// stderr interleaved); an unknown container is `404`. `GET /healthz` answers `ok`.
///
/// ```
/// assert_eq!(orch_node::agent::log_path("default", "web", "nginx"), "/containerLogs/default/web/nginx");
/// ```
pub fn log_path(namespace: &str, pod: &str, container: &str) -> String {
    format!("/containerLogs/{namespace}/{pod}/{container}")
}

#[derive(Clone)]
struct LogState {
    runtime: Arc<dyn ContainerRuntime>,
    node_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogQuery {
    #[serde(default)]
    follow: Option<bool>,
    #[serde(default)]
    tail_lines: Option<usize>,
    #[serde(default)]
    previous: Option<bool>,
}

/// The router of the log endpoint for the containers this node's agent created.
pub(crate) fn router(runtime: Arc<dyn ContainerRuntime>, node_name: String) -> Router {
    Router::new()
        .route("/containerLogs/{namespace}/{pod}/{container}", get(container_logs))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(LogState { runtime, node_name })
}

async fn container_logs(
    State(state): State<LogState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(q): Query<LogQuery>,
) -> Response {
    let filter = ListFilter { node_name: Some(state.node_name.clone()), pod_uid: None };
    let mut attempts = match state.runtime.list(&filter).await {
        Ok(list) => list
            .into_iter()
            .filter(|c| c.pod.namespace == namespace && c.pod.name == pod && c.name == container)
            .collect::<Vec<_>>(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    attempts.sort_by_key(|c| std::cmp::Reverse(c.attempt));
    let pick = if q.previous.unwrap_or(false) { attempts.get(1) } else { attempts.first() };
    let Some(info) = pick else {
        let msg = format!("container {container:?} of pod {namespace}/{pod} not found on this node\n");
        return (StatusCode::NOT_FOUND, msg).into_response();
    };
    let opts = LogOptions { follow: q.follow.unwrap_or(false), tail_lines: q.tail_lines };
    match state.runtime.logs(&info.id, &opts).await {
        Ok(stream) => ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], Body::from_stream(stream))
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
