//! Kubeconfig resolution: current and selected contexts, KUBECONFIG lists, ~/.kube/config, flag overrides, token files and CA data.

use orch_api::Environment;

use super::{orchctl_env, resolved, store, write};

const TWO_CONTEXTS: &str = "apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
- name: prod-cluster
  cluster:
    server: https://127.0.0.2:6443
    certificate-authority: ca.pem
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: dev-token
- name: prod-user
  user:
    tokenFile: secrets/token
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
- name: prod
  context: {cluster: prod-cluster, user: prod-user, namespace: payments}
";

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "config", TWO_CONTEXTS);
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    write(dir.path(), "secrets/token", "prod-token\n");
    write(dir.path(), "ca.pem", "PROD CA");
    (dir, path)
}

#[tokio::test]
async fn current_context_gives_server_token_ca_data_and_default_namespace() {
    let (_dir, path) = setup();
    let ctx = resolved(&["--kubeconfig", &path], &Environment::default()).await.unwrap();
    assert_eq!(ctx.server, "https://127.0.0.1:6443");
    assert_eq!(ctx.token.as_deref(), Some("dev-token"));
    assert_eq!(ctx.ca_pem.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]));
    assert!(!ctx.insecure_skip_tls_verify);
    assert_eq!(ctx.namespace, "default");
}

#[tokio::test]
async fn context_flag_selects_another_with_token_file_and_ca_path_relative_to_the_file() {
    let (_dir, path) = setup();
    let ctx = resolved(&["--kubeconfig", &path, "--context", "prod"], &Environment::default()).await.unwrap();
    assert_eq!(ctx.server, "https://127.0.0.2:6443");
    assert_eq!(ctx.token.as_deref(), Some("prod-token"));
    assert_eq!(ctx.ca_pem.as_deref(), Some(&b"PROD CA"[..]));
    assert!(ctx.insecure_skip_tls_verify);
    assert_eq!(ctx.namespace, "payments");
}

#[tokio::test]
async fn flags_override_server_token_and_namespace() {
    let (_dir, path) = setup();
    let args = ["--kubeconfig", &path, "--server", "https://127.0.0.9:1", "--token", "t", "-n", "kube-system"];
    let ctx = resolved(&args, &Environment::default()).await.unwrap();
    assert_eq!(
        (ctx.server.as_str(), ctx.token.as_deref(), ctx.namespace.as_str()),
        ("https://127.0.0.9:1", Some("t"), "kube-system")
    );
    assert_eq!(ctx.ca_pem.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]), "the context's CA is kept");
}

#[tokio::test]
async fn kubeconfig_list_uses_the_first_file_that_has_the_context() {
    let (dir, full) = setup();
    let other = write(
        dir.path(),
        "other",
        "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.3:6443'}\ncontexts:\n- name: prod\n  context: {cluster: c}\ncurrent-context: prod\n",
    );
    let missing = dir.path().join("missing").display().to_string();
    let env = Environment::default().kubeconfig(format!("{missing}:{other}:{full}"));
    let ctx = resolved(&[], &env).await.unwrap();
    assert_eq!((ctx.server.as_str(), ctx.token.as_deref()), ("https://127.0.0.3:6443", None));
    let dev = resolved(&["--context=dev"], &env).await.unwrap();
    assert_eq!(dev.server, "https://127.0.0.1:6443", "dev is only in the later file");
}

#[tokio::test]
async fn home_kube_config_is_the_fallback_and_kubeconfig_flag_beats_the_variable() {
    let (dir, path) = setup();
    std::fs::create_dir_all(dir.path().join("home/.kube")).unwrap();
    std::fs::copy(&path, dir.path().join("home/.kube/config")).unwrap();
    let env = Environment::default().home(dir.path().join("home"));
    assert_eq!(resolved(&[], &env).await.unwrap().server, "https://127.0.0.1:6443");
    let other = write(
        dir.path(),
        "o",
        "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.4:1'}\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
    );
    let env = Environment::default().kubeconfig(&path);
    assert_eq!(resolved(&["--kubeconfig", &other], &env).await.unwrap().server, "https://127.0.0.4:1");
}

#[tokio::test]
async fn missing_context_bad_ca_data_and_no_config_are_clear_errors() {
    let (dir, path) = setup();
    let err = resolved(&["--kubeconfig", &path, "--context", "staging"], &Environment::default()).await.unwrap_err();
    assert!(err.starts_with("error: context \"staging\" does not exist"), "{err}");
    let bad = write(dir.path(), "bad", &TWO_CONTEXTS.replace("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==", "not*base64"));
    let err = resolved(&["--kubeconfig", &bad], &Environment::default()).await.unwrap_err();
    assert!(
        err.contains("certificate-authority-data of cluster \"dev-cluster\"") && err.contains("not base64"),
        "{err}"
    );
    let err = resolved(&[], &Environment::default()).await.unwrap_err();
    assert!(err.contains("no kubeconfig found"), "{err}");
    let ok = resolved(&["--server", "http://127.0.0.1:8080"], &Environment::default()).await.unwrap();
    assert_eq!((ok.server.as_str(), ok.namespace.as_str()), ("http://127.0.0.1:8080", "default"));
}

#[tokio::test]
async fn config_lists_switches_and_views_contexts_without_a_server() {
    let (_dir, path) = setup();
    let env = Environment::default().kubeconfig(&path);
    let s = store().await;
    let current = orchctl_env(&s, &["config", "current-context"], &env).await;
    assert_eq!(current.out, "dev\n");
    let list = orchctl_env(&s, &["config", "get-contexts"], &env).await;
    assert_eq!(
        list.out,
        "CURRENT   NAME   CLUSTER        AUTHINFO    NAMESPACE\n\
         *         dev    dev-cluster    dev-user\n\
         \x20         prod   prod-cluster   prod-user   payments\n"
    );
    let switched = orchctl_env(&s, &["config", "use-context", "prod"], &env).await;
    assert_eq!(switched.out, "Switched to context \"prod\".\n", "{}", switched.err);
    assert_eq!(resolved(&[], &env).await.unwrap().namespace, "payments");
    assert!(std::fs::read_to_string(&path).unwrap().contains("tokenFile: secrets/token"), "other fields are kept");
    let unknown = orchctl_env(&s, &["config", "use-context", "nope"], &env).await;
    assert_eq!((unknown.code, unknown.err.as_str()), (1, "error: no context exists with the name: \"nope\"\n"));

    let view = orchctl_env(&s, &["config", "view"], &env).await;
    assert!(
        view.out.contains("token: REDACTED") && view.out.contains("certificate-authority-data: DATA+OMITTED"),
        "{}",
        view.out
    );
    assert!(!view.out.contains("dev-token"));
    let raw = orchctl_env(&s, &["config", "view", "--raw"], &env).await;
    assert!(raw.out.contains("token: dev-token"), "{}", raw.out);
}
