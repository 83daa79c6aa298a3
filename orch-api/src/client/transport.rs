//! The HTTP transport: one pooled hyper client over rustls, requests with retries and backoff.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orch_core::StoreError;
use orch_core::store::Status;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::ClientConfig;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not `http(s)://host:port`.
    #[error("server URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The CA certificates do not parse.
    #[error("certificate authority data: {0}")]
    BadCa(String),
    /// rustls refused the configuration.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A request body with its content type.
pub(crate) struct Payload {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// The pooled connection to the API server.
pub(crate) struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub config: ClientConfig,
    auth: Option<HeaderValue>,
}

impl Transport {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let uri: axum::http::Uri = config
            .server
            .parse()
            .map_err(|e| ClientError::BadUrl { url: config.server.clone(), reason: format!("{e}") })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ClientError::BadUrl {
                url: config.server.clone(),
                reason: "expected http://host:port or https://host:port".into(),
            });
        }
        let tls = tls_config(&config)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(connector);
        let auth = match &config.token {
            Some(t) => Some(
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| ClientError::Tls("the token holds characters not allowed in a header".into()))?,
            ),
            None => None,
        };
        Ok(Transport { client, config, auth })
    }

    fn build(
        &self,
        method: &Method,
        path_and_query: &str,
        payload: Option<&Payload>,
    ) -> Result<Request<Full<Bytes>>, StoreError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{}", self.config.server, path_and_query))
            .header(header::ACCEPT, "application/json");
        if let Some(auth) = &self.auth {
            req = req.header(header::AUTHORIZATION, auth.clone());
        }
        let body = match payload {
            Some(p) => {
                req = req.header(header::CONTENT_TYPE, p.content_type);
                Full::new(p.bytes.clone())
            }
            None => Full::new(Bytes::new()),
        };
        req.body(body).map_err(|e| StoreError::bad_request(format!("building the request {path_and_query}: {e}")))
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable { message: format!("cannot reach the API server at {}: {e}", self.config.server) }
    }

    /// Sends a request and returns the response head and body stream, retrying 429/503 answers
    /// and refused connections (and, for reads, any connection failure) with backoff.
    pub async fn send_streaming(
        &self,
        method: Method,
        path_and_query: &str,
        payload: Option<Payload>,
    ) -> Result<axum::http::Response<Incoming>, StoreError> {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let mut delay = self.config.initial_backoff;
        let mut attempt = 0;
        loop {
            let req = self.build(&method, path_and_query, payload.as_ref())?;
            let outcome = tokio::time::timeout(self.config.request_timeout, self.client.request(req)).await;
            let retry_after = match outcome {
                Err(_) => {
                    return Err(StoreError::Timeout {
                        message: format!("{method} {path_and_query}: no answer in time"),
                    });
                }
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let retryable = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE);
                    if !retryable || attempt >= self.config.max_retries {
                        let body = collect(resp.into_body(), self.config.request_timeout).await.unwrap_or_default();
                        return Err(decode_error(status, &body));
                    }
                    retry_after
                }
                Ok(Err(e)) => {
                    if !(e.is_connect() || idempotent) || attempt >= self.config.max_retries {
                        return Err(self.unreachable(error_chain(&e)));
                    }
                    None
                }
            };
            tokio::time::sleep(retry_after.unwrap_or(delay).min(self.config.max_backoff.max(delay))).await;
            delay = (delay * 2).min(self.config.max_backoff);
            attempt += 1;
        }
    }

    /// Sends a request and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        payload: Option<Payload>,
    ) -> Result<(StatusCode, Bytes), StoreError> {
        let resp = self.send_streaming(method, path_and_query, payload).await?;
        let status = resp.status();
        let body = collect(resp.into_body(), self.config.request_timeout).await.map_err(|e| self.unreachable(e))?;
        Ok((status, body))
    }
}

async fn collect(body: Incoming, timeout: Duration) -> Result<Bytes, String> {
    match tokio::time::timeout(timeout, body.collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out reading the answer".into()),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The error an unsuccessful answer describes: its `Status` object, or failing that its code.
pub(crate) fn decode_error(status: StatusCode, body: &[u8]) -> StoreError {
    match serde_json::from_slice::<Status>(body) {
        Ok(s) if s.kind == "Status" && s.code != 0 => s.into_error(),
        _ => {
            let text = String::from_utf8_lossy(body).chars().take(300).collect::<String>();
            let synthetic =
                Status { code: status.as_u16(), message: format!("HTTP {status}: {text}"), ..Status::default() };
            synthetic.into_error()
        }
    }
}

fn tls_config(config: &ClientConfig) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    if config.insecure_skip_tls_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = &config.ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ClientError::BadCa(e.to_string()))?;
            roots.add(cert).map_err(|e| ClientError::BadCa(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(ClientError::BadCa("no certificate in the PEM data".into()));
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `insecure-skip-tls-verify`: any certificate is accepted, signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
