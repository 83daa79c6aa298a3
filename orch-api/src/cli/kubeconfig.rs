//! Kubeconfig: the standard file format (clusters, users, contexts, current-context) and how a context is resolved from files, `KUBECONFIG` and flags.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::args::GlobalArgs;
use super::environment::Environment;
use super::errors::CliError;

/// A kubeconfig file. Fields orch does not use (client certificates, exec plugins, preferences)
/// are ignored when reading.
///
/// ```
/// use orch_api::cli::kubeconfig::Kubeconfig;
/// let yaml = Kubeconfig::single("orch", "https://127.0.0.1:6443", Some("s3cret"), Some(b"PEM")).to_yaml();
/// let back: Kubeconfig = yaml_serde::from_str(&yaml).unwrap();
/// assert_eq!(back.current_context.as_deref(), Some("orch"));
/// assert_eq!(back.clusters[0].cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    /// Named API servers.
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    /// Named credentials.
    #[serde(default)]
    pub users: Vec<NamedUser>,
    /// Named (cluster, user, namespace) triples.
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    /// The context used when `--context` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
}

/// A named cluster entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// The entry's name.
    pub name: String,
    /// The cluster.
    pub cluster: Cluster,
}

/// How to reach and trust one API server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// The server URL, e.g. `https://127.0.0.1:6443`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The certificate authority's PEM, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// Path to the certificate authority's PEM file (relative to the kubeconfig's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Skip verifying the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
}

/// A named user entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedUser {
    /// The entry's name.
    pub name: String,
    /// The credentials.
    pub user: User,
}

/// Credentials: a bearer token, inline or in a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Path to a file holding the token (relative to the kubeconfig's directory).
    #[serde(default, rename = "tokenFile", skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
}

/// A named context entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    /// The entry's name.
    pub name: String,
    /// The context.
    pub context: Context,
}

/// A cluster, a user and a default namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Name of the cluster entry.
    pub cluster: String,
    /// Name of the user entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The namespace commands use when `-n` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Kubeconfig {
    /// A kubeconfig with one cluster, one user and one context, all named `name`, selected as
    /// current (what a cluster launcher writes for its users).
    pub fn single(name: &str, server: &str, token: Option<&str>, ca_pem: Option<&[u8]>) -> Self {
        Kubeconfig {
            clusters: vec![NamedCluster {
                name: name.to_owned(),
                cluster: Cluster {
                    server: Some(server.to_owned()),
                    certificate_authority_data: ca_pem.map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
                    ..Default::default()
                },
            }],
            users: vec![NamedUser {
                name: name.to_owned(),
                user: User { token: token.map(str::to_owned), token_file: None },
            }],
            contexts: vec![NamedContext {
                name: name.to_owned(),
                context: Context { cluster: name.to_owned(), user: Some(name.to_owned()), namespace: None },
            }],
            current_context: Some(name.to_owned()),
        }
    }

    /// The file as YAML, with `apiVersion: v1` and `kind: Config`.
    pub fn to_yaml(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.insert("apiVersion".into(), "v1".into());
            map.insert("kind".into(), "Config".into());
        }
        yaml_serde::to_string(&v).unwrap_or_default()
    }
}

/// Where and as whom to connect: the outcome of kubeconfig resolution.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ResolvedContext {
    /// The API server URL.
    pub server: String,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// The certificate authority to trust, as PEM.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip verifying the server certificate.
    pub insecure_skip_tls_verify: bool,
    /// The namespace commands use by default (`"default"` unless the context or `-n` says otherwise).
    pub namespace: String,
}

impl std::fmt::Debug for ResolvedContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedContext")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// One loaded kubeconfig file and where it came from.
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Its contents.
    pub config: Kubeconfig,
}

impl Loaded {
    fn resolve_path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_owned() } else { self.path.parent().unwrap_or(Path::new(".")).join(p) }
    }
}

/// A kubeconfig error with this message.
pub fn kube_err(message: String) -> CliError {
    CliError::Kubeconfig { message }
}

/// Reads a file, naming it in the error.
///
/// # Errors
/// [`CliError::Read`].
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read { path: path.to_owned(), source })
}

/// The kubeconfig files to read: `--kubeconfig`; else every existing file of `KUBECONFIG`; else `~/.kube/config`.
///
/// # Errors
/// A file that cannot be read or parsed.
pub fn load_files(flags: &GlobalArgs, env: &Environment) -> Result<Vec<Loaded>, CliError> {
    let paths: Vec<PathBuf> = if let Some(p) = &flags.kubeconfig {
        vec![p.clone()]
    } else if let Some(list) = env.kubeconfig.as_ref().filter(|l| !l.is_empty()) {
        std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty() && p.is_file()).collect()
    } else {
        env.home.iter().map(|h| h.join(".kube").join("config")).filter(|p| p.is_file()).collect()
    };
    paths
        .into_iter()
        .map(|path| {
            let text = read(&path)?;
            let config = if text.iter().all(u8::is_ascii_whitespace) {
                Kubeconfig::default()
            } else {
                yaml_serde::from_slice(&text)
                    .map_err(|e| kube_err(format!("cannot parse kubeconfig {}: {e}", path.display())))?
            };
            Ok(Loaded { path, config })
        })
        .collect()
}

/// Resolves the context to use from the kubeconfig files the flags and environment point at,
/// then applies the flag overrides. Lists merge like kubectl's: the first file that defines a
/// name (context, cluster, user) or sets `current-context` wins.
///
/// # Errors
/// [`CliError::Kubeconfig`] when nothing says which server to use, a named context, cluster or
/// user does not exist, or CA data is not base64; [`CliError::Read`] when a file cannot be read.
pub fn resolve(flags: &GlobalArgs, env: &Environment) -> Result<ResolvedContext, CliError> {
    let files = load_files(flags, env)?;
    let context_name = flags.context.clone().or_else(|| files.iter().find_map(|f| f.config.current_context.clone()));
    let mut resolved = ResolvedContext::default();
    match context_name.filter(|n| !n.is_empty()) {
        Some(name) => apply_context(&files, &name, &mut resolved)?,
        None if flags.server.is_some() => {}
        None if files.is_empty() => {
            return Err(kube_err(
                "no kubeconfig found (tried --kubeconfig, $KUBECONFIG and ~/.kube/config); pass --server or --kubeconfig"
                    .into(),
            ));
        }
        None => return Err(kube_err("the kubeconfig sets no current-context; pass --context or --server".into())),
    }
    if let Some(server) = &flags.server {
        resolved.server = server.clone();
    }
    if let Some(token) = &flags.token {
        resolved.token = Some(token.clone());
    }
    if let Some(ca) = &flags.certificate_authority {
        resolved.ca_pem = Some(read(ca)?);
    }
    resolved.insecure_skip_tls_verify |= flags.insecure_skip_tls_verify;
    if let Some(ns) = &flags.namespace {
        resolved.namespace = ns.clone();
    }
    if resolved.namespace.is_empty() {
        resolved.namespace = "default".into();
    }
    if resolved.server.is_empty() {
        return Err(kube_err("no server is set for the current context; pass --server".into()));
    }
    Ok(resolved)
}

fn apply_context(files: &[Loaded], name: &str, out: &mut ResolvedContext) -> Result<(), CliError> {
    let searched = || files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>().join(", ");
    let (ctx_file, ctx) = files
        .iter()
        .find_map(|f| f.config.contexts.iter().find(|c| c.name == name).map(|c| (f, &c.context)))
        .ok_or_else(|| kube_err(format!("context {name:?} does not exist (searched: {})", searched())))?;
    let (cluster_file, cluster) = files
        .iter()
        .find_map(|f| f.config.clusters.iter().find(|c| c.name == ctx.cluster).map(|c| (f, &c.cluster)))
        .ok_or_else(|| {
            kube_err(format!(
                "cluster {:?} of context {name:?} (in {}) does not exist",
                ctx.cluster,
                ctx_file.path.display()
            ))
        })?;
    out.server = cluster.server.clone().unwrap_or_default();
    out.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify.unwrap_or(false);
    if let Some(data) = &cluster.certificate_authority_data {
        let pem = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| {
            kube_err(format!(
                "certificate-authority-data of cluster {:?} in {} is not base64: {e}",
                ctx.cluster,
                cluster_file.path.display()
            ))
        })?;
        out.ca_pem = Some(pem);
    } else if let Some(path) = &cluster.certificate_authority {
        out.ca_pem = Some(read(&cluster_file.resolve_path(path))?);
    }
    if let Some(user_name) = ctx.user.as_deref().filter(|u| !u.is_empty()) {
        let (user_file, user) = files
            .iter()
            .find_map(|f| f.config.users.iter().find(|u| u.name == user_name).map(|u| (f, &u.user)))
            .ok_or_else(|| kube_err(format!("user {user_name:?} of context {name:?} does not exist")))?;
        out.token = match (&user.token, &user.token_file) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(file)) => {
                let bytes = read(&user_file.resolve_path(file))?;
                Some(String::from_utf8_lossy(&bytes).trim().to_owned())
            }
            (None, None) => None,
        };
    }
    out.namespace = ctx.namespace.clone().unwrap_or_default();
    Ok(())
}
