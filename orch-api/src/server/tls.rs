//! TLS for the server: certificate files, or a self-signed development certificate made on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the certificate and key, or generation failed.
    #[error("TLS: {0}")]
    Rustls(String),
}

/// Where the server's certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// A self-signed certificate for `127.0.0.1` and `localhost` (plus `extra_names`), kept in
    /// `dir` as `tls.crt`/`tls.key` and made on first start. For development only.
    SelfSigned {
        /// Where the certificate is kept.
        dir: PathBuf,
        /// More DNS names or IP addresses the certificate covers.
        extra_names: Vec<String>,
    },
}

/// A server TLS configuration and the certificate (PEM) clients should trust.
pub struct ServerTls {
    /// For the listener.
    pub config: Arc<rustls::ServerConfig>,
    /// The server certificate in PEM: for a self-signed one, what a kubeconfig's
    /// `certificate-authority-data` holds.
    pub cert_pem: Vec<u8>,
}

impl TlsSource {
    /// Loads (or first makes) the certificate and builds the rustls configuration.
    ///
    /// # Errors
    /// [`TlsError`] naming the file that is missing or malformed.
    ///
    /// ```
    /// use orch_api::server::TlsSource;
    /// let dir = std::env::temp_dir().join(format!("orch-tls-doc-{}", std::process::id()));
    /// let tls = TlsSource::SelfSigned { dir: dir.clone(), extra_names: vec![] }.load().unwrap();
    /// assert!(String::from_utf8_lossy(&tls.cert_pem).starts_with("-----BEGIN CERTIFICATE-----"));
    /// # std::fs::remove_dir_all(dir).ok();
    /// ```
    pub fn load(&self) -> Result<ServerTls, TlsError> {
        let (cert_path, key_path) = match self {
            TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
            TlsSource::SelfSigned { dir, extra_names } => {
                let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
                if !cert.exists() || !key.exists() {
                    generate(dir, &cert, &key, extra_names)?;
                }
                (cert, key)
            }
        };
        let cert_pem = read(&cert_path)?;
        let key_pem = read(&key_path)?;
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().map_err(|e| pem_err(&cert_path, e))?;
        if certs.is_empty() {
            return Err(TlsError::Pem { path: cert_path.display().to_string(), reason: "no certificate".into() });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| pem_err(&key_path, e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(ServerTls { config: Arc::new(config), cert_pem })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io { path: path.display().to_string(), source })
}

fn pem_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem { path: path.display().to_string(), reason: e.to_string() }
}

fn generate(dir: &Path, cert_path: &Path, key_path: &Path, extra: &[String]) -> Result<(), TlsError> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(extra.iter().cloned());
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Rustls(e.to_string()))?;
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
        move |source| TlsError::Io { path: path.display().to_string(), source }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::write(cert_path, certified.cert.pem()).map_err(io(cert_path))?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes()).map_err(io(key_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}
