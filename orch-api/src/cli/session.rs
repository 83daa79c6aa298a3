//! `Session`: what every command works with once connected (store, kinds, namespace, output streams).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use orch_core::store::{ListParams, ObjectList};
use orch_core::{KindInfo, KindRegistry, ObjectStore, ResourceType, StoreError};

use super::environment::Environment;
use super::errors::CliError;
use super::kinds::resolve_kind;
use crate::logs::PodLogs;

/// Page size of lists.
pub const LIST_CHUNK: u32 = 500;

/// The state of one run after connecting.
pub struct Session<'a> {
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    /// The pod-log reader, if the connection has one.
    pub logs: Option<Arc<dyn PodLogs>>,
    /// The kinds that can be named.
    pub kinds: KindRegistry,
    /// The namespace from `-n` or the context (`default` when neither says).
    pub namespace: String,
    /// The API server URL (for error messages).
    pub server: String,
    /// Whether `-n` was given (then manifests must agree with it).
    pub explicit_namespace: bool,
    /// `--request-timeout`: how long a watch may run.
    pub request_timeout: Option<Duration>,
    /// The process environment.
    pub env: &'a Environment,
    /// Standard output.
    pub out: &'a mut (dyn Write + Send),
    /// Standard error.
    pub err: &'a mut (dyn Write + Send),
}

impl Session<'_> {
    /// The kind a user-typed name refers to.
    ///
    /// # Errors
    /// [`CliError::UnknownKind`].
    pub fn kind(&self, name: &str) -> Result<Arc<KindInfo>, CliError> {
        resolve_kind(&self.kinds, name)
    }

    /// Handles the failure of one of `total` objects: with a single object the error is returned
    /// as it is; with several it is printed at once (the command goes on with the rest) and
    /// counted in `failed`.
    ///
    /// # Errors
    /// The error itself when `total` is 1, or a failure to write to the error stream.
    pub fn object_failed(&mut self, e: CliError, total: usize, failed: &mut usize) -> Result<(), CliError> {
        *failed += 1;
        if total == 1 {
            return Err(e);
        }
        writeln!(self.err, "{}", e.at_server(&self.server))?;
        Ok(())
    }

    /// The namespace to address for a kind: the session's for namespaced kinds, `None` for
    /// cluster-scoped ones.
    pub fn namespace_for(&self, info: &KindInfo) -> Option<&str> {
        info.resource_type.namespaced().then_some(self.namespace.as_str())
    }
}

/// Lists every matching object in pages of [`LIST_CHUNK`] (as kubectl does), all read at
/// the first page's revision.
///
/// # Errors
/// The store's error.
pub async fn list_all(
    store: &dyn ObjectStore,
    rt: &ResourceType,
    namespace: Option<&str>,
    params: &ListParams,
) -> Result<ObjectList, StoreError> {
    let mut page = params.clone();
    page.limit = Some(LIST_CHUNK);
    let mut all = store.list(rt, namespace, &page).await?;
    while let Some(token) = all.continue_token.take() {
        page.continue_token = Some(token);
        let next = store.list(rt, namespace, &page).await?;
        all.items.extend(next.items);
        all.continue_token = next.continue_token;
    }
    all.remaining_item_count = None;
    Ok(all)
}
