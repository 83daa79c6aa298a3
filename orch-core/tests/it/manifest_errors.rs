//! A corpus of bad manifests: each gives a clear error naming the document and position, none panics.

use orch_core::kinds::{Deployment, Pod};
use orch_core::{KindRegistry, manifest};

#[test]
fn bad_manifests_give_errors_that_name_the_place() {
    let deep = format!("apiVersion: v1\nkind: Pod\nspec: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let deep_json = format!("{{\"a\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated flow mapping", b"apiVersion: v1\nkind: Pod\nmetadata: {name: a\n".to_vec(), "document 0: line"),
        ("second document broken", b"apiVersion: v1\nkind: Pod\n---\nkind: [\n".to_vec(), "document 1: line 5"),
        (
            "error surfacing while the first document is read",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: [oops\n".to_vec(),
            "document 1: line 7",
        ),
        ("tab indentation", b"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n".to_vec(), "document 0: line 4"),
        ("truncated JSON", br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"#.to_vec(), "document 0: line 1"),
        ("JSON trailing garbage", br#"{"apiVersion":"v1","kind":"Pod"} }"#.to_vec(), "document 1"),
        (
            "invalid UTF-8",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xc3\x28\n".to_vec(),
            "line 4, column 9: invalid UTF-8",
        ),
        ("bare list document", b"- a\n- b\n".to_vec(), "found a list"),
        ("scalar document", b"hello\n".to_vec(), "found a string"),
        ("missing kind", b"apiVersion: v1\nmetadata: {name: a}\n".to_vec(), "kind: required value"),
        (
            "missing apiVersion in second doc",
            b"apiVersion: v1\nkind: Pod\n---\nkind: Pod\n".to_vec(),
            "document 1 (line 4): apiVersion: required value",
        ),
        ("kind of wrong type", b"apiVersion: v1\nkind: [Pod]\n".to_vec(), "kind: must be a string"),
        ("metadata of wrong type", b"apiVersion: v1\nkind: Pod\nmetadata: [a]\n".to_vec(), "metadata"),
        (
            "labels of wrong type",
            b"apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: [1]}}\n".to_vec(),
            "metadata.labels.a",
        ),
        ("deep nesting", deep.into_bytes(), "document 0"),
        ("deep JSON nesting", deep_json.into_bytes(), "recursion limit"),
        ("List items not a list", b"apiVersion: v1\nkind: List\nitems: 3\n".to_vec(), "items: must be a list"),
        ("non-string key", b"apiVersion: v1\nkind: Pod\n? [a, b]\n: c\n".to_vec(), "document 0"),
    ];
    for (what, input, expected) in cases {
        match manifest::parse_bytes(&input) {
            Ok(objs) => panic!("{what}: expected an error, parsed {} objects", objs.len()),
            Err(e) => assert!(e.to_string().contains(expected), "{what}: {e:?} does not mention {expected:?}"),
        }
    }
}

#[test]
fn wrong_field_types_are_named_by_path_when_decoding_typed() {
    let cases = [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: http}]}]}\n",
            "spec.containers[0].ports[0].containerPort",
        ),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: {name: c}}\n", "spec.containers"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {priority: 99999999999999999999}\n", "spec.priority"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: yesterday}\n",
            "metadata.creationTimestamp",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {terminationGracePeriodSeconds: 1.5}\n",
            "spec.terminationGracePeriodSeconds",
        ),
    ];
    for (text, path) in cases {
        let err = manifest::parse_typed::<Pod>(text).unwrap_err();
        assert!(err.to_string().contains(path), "{err} does not name {path}");
    }
}

#[test]
fn a_document_of_another_kind_is_refused_by_typed_parse() {
    let err = manifest::parse_typed::<Deployment>("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n").unwrap_err();
    assert!(err.to_string().contains("expected kind apps/v1/Deployment, found v1/Pod"), "{err}");
}

#[test]
fn unknown_kinds_are_refused_without_panicking() {
    let kinds = KindRegistry::with_builtins();
    for text in [
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        "apiVersion: v2\nkind: Pod\nmetadata: {name: p}\n",
        "apiVersion: apps/v1\nkind: pod\nmetadata: {name: p}\n",
    ] {
        let err = manifest::parse_checked(&kinds, text).unwrap_err();
        assert!(err.to_string().contains("no kind"), "{err}");
    }
}

#[test]
fn empty_documents_and_comments_are_skipped() {
    let objs =
        manifest::parse("# header\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# trailing\n")
            .unwrap();
    assert_eq!(objs.len(), 1);
    assert!(manifest::parse("").unwrap().is_empty());
}

#[test]
fn list_documents_expand_into_their_items() {
    let objs = manifest::parse(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n",
    )
    .unwrap();
    assert_eq!(objs.iter().map(|o| o.name()).collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn huge_numbers_and_aliases_do_not_panic() {
    for text in [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, generation: 1e400}\n",
        "apiVersion: v1\nkind: Pod\nspec: {priority: 340282366920938463463374607431768211456}\n",
        "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
    ] {
        if let Ok(objs) = manifest::parse(text) {
            for o in objs {
                let _ = o.to_typed::<Pod>();
            }
        }
    }
}
