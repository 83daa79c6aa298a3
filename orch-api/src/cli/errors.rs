//! `CliError`: every way an `orchctl` command fails, rendered the way kubectl words it.

use std::path::PathBuf;

use orch_core::{ManifestError, StoreError};

/// An `orchctl` failure. [`run`](super::run) prints it to the error stream as `error: …` (or
/// `Error from server (Reason): …` for errors the server returned) and exits with 1.
///
/// ```
/// use orch_api::CliError;
/// use orch_core::StoreError;
/// let e = CliError::from(StoreError::NotFound { resource: "pods".into(), name: "default/web".into() });
/// assert_eq!(e.to_string(), r#"Error from server (NotFound): pods "web" not found"#);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An argument parsed but makes no sense (for example `scale` without `--replicas`).
    #[error("error: {0}")]
    InvalidArgument(String),
    /// The kubeconfig could not be read or does not define what was asked for.
    #[error("error: {message}")]
    Kubeconfig {
        /// What is wrong, naming the file and the entry.
        message: String,
    },
    /// No registered kind answers to this name.
    #[error("error: the server doesn't have a resource type {0:?}")]
    UnknownKind(String),
    /// A file or directory could not be read.
    #[error("error: cannot read {}: {source}", path.display())]
    Read {
        /// The path that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("error: cannot write {}: {source}", path.display())]
    WriteFile {
        /// The path that was written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A manifest could not be parsed or checked.
    #[error("error: error parsing {file}: {error}")]
    Manifest {
        /// The file (or `-` for standard input).
        file: String,
        /// What is wrong, with the document and line.
        error: ManifestError,
    },
    /// The API server could not be reached.
    #[error("error: cannot reach the API server at {server}: {message}")]
    Unreachable {
        /// The server URL from the resolved context.
        server: String,
        /// Why the connection failed.
        message: String,
    },
    /// The server (or store) answered with an error.
    #[error("{}", render_store_error(.0))]
    Store(StoreError),
    /// The connection has no log endpoint, so `logs` cannot work.
    #[error("error: this connection cannot read pod logs (no log endpoint is configured)")]
    NoLogs,
    /// A wait (`rollout status --timeout`) ran out of time.
    #[error("error: timed out waiting for the condition: {0}")]
    Timeout(String),
    /// A rollout failed (for example its progress deadline was exceeded).
    #[error("error: {0}")]
    RolloutFailed(String),
    /// Some of several objects failed; each error was printed as it happened.
    #[error("error: {failed} of {total} objects failed")]
    Partial {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
    },
    /// Writing the output failed.
    #[error("error: cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Store(e)
    }
}

impl CliError {
    /// Turns a store error into `Unreachable` when it says the server could not be reached.
    pub fn at_server(self, server: &str) -> Self {
        match self {
            CliError::Store(StoreError::Unavailable { message }) => {
                CliError::Unreachable { server: server.to_owned(), message }
            }
            other => other,
        }
    }
}

/// kubectl's wording of a server error: `Error from server (NotFound): pods "web" not found`.
fn render_store_error(e: &StoreError) -> String {
    let detail = match e {
        StoreError::Unauthorized { message } => {
            return format!("error: You must be logged in to the server (Unauthorized): {message}");
        }
        StoreError::NotFound { resource, name } => format!("{resource} {:?} not found", short_name(name)),
        StoreError::AlreadyExists { resource, name } => format!("{resource} {:?} already exists", short_name(name)),
        StoreError::Invalid { kind, name, errors } => {
            return format!("The {kind} {name:?} is invalid: {errors}");
        }
        StoreError::Conflict { message }
        | StoreError::BadRequest { message }
        | StoreError::Forbidden { message }
        | StoreError::UnsupportedMediaType { message }
        | StoreError::Timeout { message }
        | StoreError::Unavailable { message }
        | StoreError::Internal { message }
        | StoreError::TooManyRequests { message, .. } => message.clone(),
        other => other.to_string(),
    };
    format!("Error from server ({}): {detail}", e.reason())
}

/// The object name without the `namespace/` prefix a store error may carry.
fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_exists_reads_like_kubectl() {
        let e = CliError::from(StoreError::AlreadyExists { resource: "deployments.apps".into(), name: "web".into() });
        assert_eq!(e.to_string(), r#"Error from server (AlreadyExists): deployments.apps "web" already exists"#);
    }

    #[test]
    fn unavailable_at_a_server_becomes_unreachable() {
        let e = CliError::from(StoreError::Unavailable { message: "connection refused".into() })
            .at_server("https://127.0.0.1:6443");
        assert_eq!(e.to_string(), "error: cannot reach the API server at https://127.0.0.1:6443: connection refused");
    }

    #[test]
    fn unauthorized_asks_to_log_in() {
        let e = CliError::from(StoreError::Unauthorized { message: "invalid bearer token".into() });
        assert_eq!(e.to_string(), "error: You must be logged in to the server (Unauthorized): invalid bearer token");
    }

    #[test]
    fn conflict_names_its_reason() {
        let e = CliError::from(StoreError::Conflict { message: "the object has been modified".into() });
        assert_eq!(e.to_string(), "Error from server (Conflict): the object has been modified");
    }
}
