//! Error reporting: bad manifests, unknown kinds, NotFound, an unreachable server, usage.

use orch_api::{CliError, Connection, Environment, ResolvedContext};
use orch_core::StoreError;

use super::fixtures::DEPLOYMENT;
use super::{orchctl, run_raw, store, write};

#[tokio::test]
async fn bad_manifest_names_the_file_document_and_line_and_changes_nothing() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let broken = DEPLOYMENT.replace("replicas: 2", "replicas: [2");
    let file = write(
        dir.path(),
        "bad.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: fresh}}\n---\n{broken}"),
    );
    let o = orchctl(&s, &["apply", "-f", &file]).await;
    assert_eq!(o.code, 1);
    assert!(o.err.starts_with(&format!("error: error parsing {file}: document 1: line ")), "{}", o.err);
    assert_eq!(o.out, "");
    let ns = orchctl(&s, &["get", "ns", "fresh"]).await;
    assert_eq!(ns.err, "Error from server (NotFound): namespaces \"fresh\" not found\n", "nothing was applied");
}

#[tokio::test]
async fn manifest_with_a_wrongly_typed_field_names_the_field() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "typed.yaml", &DEPLOYMENT.replace("replicas: 2", "replicas: two"));
    let o = orchctl(&s, &["apply", "-f", &file]).await;
    assert_eq!(o.code, 1);
    assert!(o.err.contains("document 0 (line 1)") && o.err.contains("spec.replicas"), "{}", o.err);
}

#[tokio::test]
async fn manifest_of_an_unknown_kind_and_a_missing_file_are_clear() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "w.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
    let o = orchctl(&s, &["apply", "-f", &file]).await;
    assert!(o.err.contains("no kind \"Widget\" is registered for apiVersion \"example.com/v1\""), "{}", o.err);
    let missing = orchctl(&s, &["apply", "-f", "/nonexistent/x.yaml"]).await;
    assert_eq!(missing.code, 1);
    assert!(missing.err.starts_with("error: cannot read /nonexistent/x.yaml: "), "{}", missing.err);
}

#[tokio::test]
async fn unknown_kind_and_missing_object_read_like_kubectl() {
    let s = store().await;
    let kind = orchctl(&s, &["get", "widgets"]).await;
    assert_eq!((kind.code, kind.err.as_str()), (1, "error: the server doesn't have a resource type \"widgets\"\n"));
    let missing = orchctl(&s, &["get", "pods", "x"]).await;
    assert_eq!((missing.code, missing.err.as_str()), (1, "Error from server (NotFound): pods \"x\" not found\n"));
    let as_yaml = orchctl(&s, &["get", "pods", "x", "-o", "yaml"]).await;
    assert_eq!((as_yaml.code, as_yaml.out.as_str()), (1, ""), "nothing but the error is printed");
    let empty = orchctl(&s, &["get", "pods", "-o", "json"]).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&empty.out).unwrap()["items"], serde_json::json!([]));
    let describe = orchctl(&s, &["describe", "svc", "nope"]).await;
    assert_eq!(describe.err, "Error from server (NotFound): services \"nope\" not found\n");
}

#[tokio::test]
async fn unreachable_server_names_its_url() {
    let refuse = |_: &ResolvedContext| -> Result<Connection, CliError> {
        Err(StoreError::Unavailable { message: "connection refused".into() }.into())
    };
    let argv = vec!["get".to_string(), "pods".into(), "--server=https://127.0.0.1:1".into()];
    let o = run_raw(argv, &Environment::default(), &refuse).await;
    assert_eq!(o.code, 1);
    assert_eq!(o.err, "error: cannot reach the API server at https://127.0.0.1:1: connection refused\n");
}

#[tokio::test]
async fn help_succeeds_and_unknown_flags_fail() {
    let s = store().await;
    let help = orchctl(&s, &["--help"]).await;
    assert_eq!(help.code, 0);
    for verb in ["apply", "get", "describe", "delete", "logs", "rollout", "scale", "version"] {
        assert!(help.out.contains(verb), "{verb} missing from\n{}", help.out);
    }
    let never = |_: &ResolvedContext| -> Result<Connection, CliError> { unreachable!("help needs no server") };
    let bare = run_raw(vec!["rollout".into()], &Environment::default(), &never).await;
    assert_eq!(bare.code, 0, "a bare verb group prints its help, as kubectl does");
    assert!(bare.out.contains("status"), "{}", bare.out);
    let bad = orchctl(&s, &["get", "pods", "--frobnicate"]).await;
    assert_eq!(bad.code, 1);
    assert!(bad.err.contains("--frobnicate"), "{}", bad.err);
    let version = orchctl(&s, &["version"]).await;
    assert_eq!(
        version.out,
        format!("Client Version: v{}\nServer: https://127.0.0.1:6443\n", env!("CARGO_PKG_VERSION"))
    );
}
