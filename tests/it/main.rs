//! Cross-crate integration tests (one binary, a module per concern).

mod remote_components;
