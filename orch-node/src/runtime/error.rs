//! `RuntimeError`: every way a container runtime call can fail.

/// An error from a [`ContainerRuntime`](super::ContainerRuntime).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The image cannot be found (not an executable path, not on PATH, not in the engine).
    #[error("image {image:?} not found: {reason}")]
    ImageNotFound {
        /// The image asked for.
        image: String,
        /// What was looked at.
        reason: String,
    },
    /// No container with this id.
    #[error("container {id} not found")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The container is not in a state that allows the operation (e.g. start twice).
    #[error("container {id}: {reason}")]
    InvalidState {
        /// The container.
        id: String,
        /// What was wrong.
        reason: String,
    },
    /// The container's configuration cannot be run (e.g. an empty command).
    #[error("invalid container config: {0}")]
    InvalidConfig(String),
    /// The runtime's backend (operating system, container engine) failed.
    #[error("runtime failure: {0}")]
    Backend(String),
    /// The container engine cannot be reached.
    #[error("container engine unreachable: {0}")]
    Unreachable(String),
}

impl RuntimeError {
    /// A backend failure from any displayable error.
    pub fn backend(e: impl std::fmt::Display) -> Self {
        RuntimeError::Backend(e.to_string())
    }
}

impl From<std::io::Error> for RuntimeError {
    fn from(e: std::io::Error) -> Self {
        RuntimeError::Backend(e.to_string())
    }
}
