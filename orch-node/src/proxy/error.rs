//! `ProxyError`: what can go wrong while programming or running the service proxy.

use std::net::SocketAddr;

use orch_core::StoreError;

/// Errors of the service proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A frontend address could not be bound (in use, not local, no permission).
    #[error("binding frontend {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The backend needs a running tokio runtime and was called outside one.
    #[error("the userspace proxy backend must be driven from inside a tokio runtime")]
    NoRuntime,
    /// The object store failed in a way the proxy does not retry.
    #[error("object store: {0}")]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_error_names_the_address() {
        let e = ProxyError::Bind {
            addr: "127.192.0.1:80".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert!(e.to_string().contains("127.192.0.1:80"));
    }
}
