//! `PodLogs`: the contract for reading a container's log, which the HTTP client implements over `GET .../pods/{name}/log`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use orch_core::StoreError;

/// What part of a container's log to read: the query parameters of Kubernetes' `pods/log`.
///
/// ```
/// use orch_api::LogParams;
/// let p = LogParams::default().container("web").tail(10).follow();
/// assert_eq!(p.container.as_deref(), Some("web"));
/// assert_eq!(p.tail_lines, Some(10));
/// assert!(p.follow && !p.previous);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogParams {
    /// The container to read; `None` when the pod has exactly one.
    pub container: Option<String>,
    /// Keep the stream open and deliver new output as it is written.
    pub follow: bool,
    /// Only the last this many lines (then new ones when following).
    pub tail_lines: Option<i64>,
    /// The log of the previous (terminated) instance of the container.
    pub previous: bool,
}

impl LogParams {
    /// Reads this container.
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }
    /// Follows the log.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }
    /// Starts this many lines from the end.
    pub fn tail(mut self, lines: i64) -> Self {
        self.tail_lines = Some(lines);
        self
    }
    /// Reads the previous instance's log.
    pub fn previous(mut self) -> Self {
        self.previous = true;
        self
    }
}

/// Reads pod logs. The HTTP client implements it through the API server, which proxies to the
/// node agent that runs the pod; `orchctl logs` takes it as a trait object.
///
/// # Errors
/// `NotFound` when the pod (or container) does not exist, `BadRequest` when the pod has several
/// containers and none was named, `Unavailable` when the node agent cannot be reached. An error
/// after the stream has started arrives as an item of the stream, which then ends.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use bytes::Bytes;
/// use futures::{StreamExt, stream::{self, BoxStream}};
/// use orch_api::{LogParams, PodLogs};
/// use orch_core::StoreError;
///
/// /// Every pod logs one greeting.
/// struct Greeting;
///
/// #[async_trait]
/// impl PodLogs for Greeting {
///     async fn logs(&self, _ns: &str, pod: &str, _p: &LogParams)
///         -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
///         Ok(stream::iter([Ok(Bytes::from(format!("hello from {pod}\n")))]).boxed())
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let logs: Arc<dyn PodLogs> = Arc::new(Greeting);
/// let mut s = logs.logs("default", "web", &LogParams::default()).await.unwrap();
/// assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from("hello from web\n"));
/// # });
/// ```
#[async_trait]
pub trait PodLogs: Send + Sync {
    /// Opens the log of a container of `pod` in `namespace` as a stream of byte chunks.
    async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        params: &LogParams,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn PodLogs) {}
