//! `Session`: what every command works with once connected (store, kinds, namespace, output streams).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use orch_core::{KindInfo, KindRegistry, ObjectStore};

use super::environment::Environment;
use super::errors::CliError;
use super::kinds::resolve_kind;
use crate::logs::PodLogs;

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
