//! `ClientConfig`: where the API server is and how to reach it.

use std::time::Duration;

/// How the HTTP client reaches the API server, built by value.
///
/// ```
/// use std::time::Duration;
/// use orch_api::client::ClientConfig;
/// let cfg = ClientConfig::new("https://127.0.0.1:6443").token("s3cret").retries(3);
/// assert_eq!(cfg.max_retries, 3);
/// assert_eq!(cfg.request_timeout, Duration::from_secs(30));
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL: `https://host:port` or `http://127.0.0.1:port`.
    pub server: String,
    /// Bearer token sent with every request.
    pub token: Option<String>,
    /// PEM certificates to trust (a kubeconfig's `certificate-authority-data`); the server's
    /// certificate must chain to one of them.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any server certificate (development only).
    pub insecure_skip_tls_verify: bool,
    /// Timeout of one request (not of watches).
    pub request_timeout: Duration,
    /// Retries of a request answered 429/503 or refused at connect.
    pub max_retries: u32,
    /// First retry delay; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// How long a dropped watch keeps trying to resume before it ends with `Unavailable`.
    pub watch_resume_timeout: Duration,
}

impl ClientConfig {
    /// A configuration for `server` with defaults: 30 s requests, 5 retries from 100 ms up to
    /// 2 s apart, watches resuming for up to 60 s.
    pub fn new(server: impl Into<String>) -> Self {
        ClientConfig {
            server: server.into().trim_end_matches('/').to_string(),
            token: None,
            ca_pem: None,
            insecure_skip_tls_verify: false,
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            watch_resume_timeout: Duration::from_secs(60),
        }
    }

    /// Sets the bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Trusts these PEM certificates.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Accepts any server certificate (development only).
    pub fn insecure(mut self) -> Self {
        self.insecure_skip_tls_verify = true;
        self
    }

    /// Sets the number of retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets how long a dropped watch tries to resume.
    pub fn watch_resume_timeout(mut self, timeout: Duration) -> Self {
        self.watch_resume_timeout = timeout;
        self
    }
}
