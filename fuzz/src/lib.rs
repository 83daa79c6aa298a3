//! The bodies of orch's fuzz targets: one function per target, each feeding arbitrary bytes to a
//! public parser and checking the properties that must hold for any input.
//!
//! A function returns normally for every input; a panic is a bug. The same functions run under
//! `cargo fuzz` (see `fuzz/README.md`) and, on stable, over every file of the committed seed
//! corpus in `fuzz/corpus/<target>/` (the `fuzz_corpus` module of orch-tests includes this file).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use orch_api::path::ResourcePath;
use orch_api::query::Query;
use orch_core::kind_registry::KindRegistry;
use orch_core::patch::{Patch, merge_patch};
use orch_core::selector::field::FieldSelector;
use orch_core::selector::label::{LabelSelector, Selector};
use orch_core::{DeterministicExecutor, DynamicObject, ManualClock, ParsedQuantity, manifest};
use orch_store::durable::{DurableFs, DurableKv, DurableKvConfig, FaultyFs};
use orch_store::kv::{KvStore, PutRequest, RangeRequest};
use serde_json::Value;

/// A target's body: runs one input, panics on a bug.
pub type Target = fn(&[u8]);

/// The targets by name, as `cargo fuzz` and the corpus directories call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("manifest", manifest),
    ("quantity", quantity),
    ("selectors", selectors),
    ("patch", patch),
    ("api_query", api_query),
    ("api_request", api_request),
    ("durable_log", durable_log),
];

/// Manifests, YAML or JSON: parsing never panics, a parsed manifest renders to YAML that parses
/// back to the same objects, and checking against the built-in kinds never panics.
pub fn manifest(data: &[u8]) {
    let Ok(objects) = manifest::parse_bytes(data) else { return };
    let yaml = manifest::to_yaml(&objects);
    match manifest::parse(&yaml) {
        Ok(again) => assert_eq!(again, objects, "manifest changed in a YAML round trip:\n{yaml}"),
        Err(e) => panic!("rendered manifest does not parse: {e}\n{yaml}"),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = manifest::parse_checked(&KindRegistry::with_builtins(), text);
    }
}

/// Quantities: parsing never panics; the canonical text of a parsed value parses back to the
/// same value; arithmetic and conversions never panic.
pub fn quantity(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = text.parse::<ParsedQuantity>() else { return };
    let canonical = q.canonical();
    match canonical.parse::<ParsedQuantity>() {
        Ok(back) => assert_eq!(back, q, "{text:?} canonicalises to {canonical:?}, which is another value"),
        Err(e) => panic!("{text:?} canonicalises to {canonical:?}, which does not parse: {e}"),
    }
    let _ = (q.millis(), q.value(), q.as_f64(), q.is_zero(), q.is_negative());
    let _ = (q.checked_add(&q), q.checked_sub(&q), q.cmp(&ParsedQuantity::from_millis(1)));
    let _: Result<orch_core::Quantity, _> = serde_json::from_slice(data);
}

/// Label and field selectors: parsing never panics, a parsed selector prints to text that
/// parses back to the same selector, and matching never panics. The first byte picks the kind
/// (even: label, odd: field); JSON `LabelSelector`s are tried too.
pub fn selectors(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    if let Ok(sel) = serde_json::from_slice::<LabelSelector>(rest) {
        let _ = sel.matches(&sample_labels());
    }
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if which % 2 == 0 {
        let Ok(sel) = Selector::parse(text) else { return };
        let printed = sel.to_string();
        match Selector::parse(&printed) {
            Ok(back) => assert_eq!(back, sel, "{text:?} prints as {printed:?}, another selector"),
            Err(e) => panic!("{text:?} prints as {printed:?}, which does not parse: {e}"),
        }
        let _ = sel.matches(&sample_labels());
    } else {
        let Ok(sel) = FieldSelector::parse(text) else { return };
        let printed = sel.to_string();
        match FieldSelector::parse(&printed) {
            Ok(back) => assert_eq!(back, sel, "{text:?} prints as {printed:?}, another selector"),
            Err(e) => panic!("{text:?} prints as {printed:?}, which does not parse: {e}"),
        }
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1"}});
        if let Ok(obj) = DynamicObject::from_value(pod) {
            let _ = sel.matches(&obj);
        }
    }
}

fn sample_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("app".into(), "web".into()), ("tier".into(), "front".into())])
}

/// Patches: a JSON merge patch (RFC 7386) applied twice gives what it gave once; JSON Patch and
/// strategic merge patch parse and apply without panicking. The input is a target document and
/// a patch document separated by a NUL byte or a line `%%`; a third section, if present, is a
/// content type.
pub fn patch(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0).collect::<Vec<_>>();
    if parts.len() < 2 {
        let Ok(text) = std::str::from_utf8(data) else { return };
        parts = text.splitn(3, "\n%%\n").map(str::as_bytes).collect();
    }
    let (Some(target), Some(patch)) = (parts.first(), parts.get(1)) else { return };
    let (Ok(target), Ok(patch)) = (serde_json::from_slice::<Value>(target), serde_json::from_slice::<Value>(patch))
    else {
        return;
    };
    let once = merge_patch(&target, &patch);
    assert_eq!(merge_patch(&once, &patch), once, "a merge patch is not idempotent");
    let content_type = parts.get(2).and_then(|c| std::str::from_utf8(c).ok());
    let types = ["application/json-patch+json", "application/strategic-merge-patch+json"];
    for content_type in content_type.into_iter().chain(types) {
        if let Ok(p) = Patch::from_content_type(content_type, patch.clone()) {
            for kind in ["Pod", "Deployment", "Service", "Widget"] {
                let _ = p.apply(kind, &target);
            }
            let _ = serde_json::to_value(&p).map(serde_json::from_value::<Patch>);
        }
    }
}

/// Request paths and query strings: parsing never panics, and the selectors a query carries are
/// parsed as the server would. The input is `path?query`.
pub fn api_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    if let Ok(Some(p)) = ResourcePath::parse(path) {
        let _ = ResourcePath::parse(&p.to_string());
    }
    let Ok(q) = Query::parse(query) else { return };
    let (list, _watch) = (q.list_params(), q.watch_params());
    if let Some(s) = &list.label_selector {
        let _ = Selector::parse(s);
    }
    if let Some(s) = &list.field_selector {
        let _ = FieldSelector::parse(s);
    }
    let _ = Query::parse(&q.encode());
}

/// Whole API requests through the server's router (over a fresh in-memory registry per input):
/// path, query string, content type and body. No request may panic a handler; the router must
/// answer every request. The input holds up to four requests separated by lines `%%`, each
/// `METHOD target\ncontent-type\nbody`. Requests for pod logs are skipped, since they would
/// connect to whatever node address an earlier request registered.
pub fn api_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    rt.block_on(async {
        let Ok(registry) = orch_store::Registry::in_memory().await else { return };
        let Ok(server) = orch_api::server::ApiServer::new(registry, Default::default()) else { return };
        for raw in text.split("\n%%\n").take(4) {
            let Some(request) = http_request(raw) else { continue };
            let mut router = server.router();
            let response = tower_service::Service::call(&mut router, request).await;
            let Ok(response) = response;
            let status = response.status().as_u16();
            assert_ne!(status, 500, "{raw:?} answered 500");
        }
    });
}

/// One fuzzed request, or `None` when it is not a well-formed HTTP request (hyper refuses those
/// before the router) or asks for pod logs.
fn http_request(raw: &str) -> Option<axum::http::Request<axum::body::Body>> {
    let mut lines = raw.splitn(3, '\n');
    let (method, target) = lines.next()?.split_once(' ')?;
    let content_type = lines.next().unwrap_or("");
    let body = lines.next().unwrap_or("").to_owned();
    if target.split(['/', '?']).any(|seg| seg == "log") || target.contains("watch") {
        return None;
    }
    axum::http::Request::builder()
        .method(method)
        .uri(target)
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .ok()
}

/// The durable store's recovery on damaged files: opening never panics; when it succeeds, the
/// store serves reads and writes, and closing and reopening it gives the same state.
///
/// The first byte picks how the rest becomes files: 0, the raw bytes of the one log segment;
/// 1, records `len: u16 LE ‖ payload` that this function frames with good checksums and
/// contiguous indexes (so the fuzzer reaches the entry decoder and replay); 2, like 1 but each
/// payload carries its own index; 3, the raw bytes of a snapshot file beside an empty log.
pub fn durable_log(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let fs = FaultyFs::new();
    let dir = Path::new("/db");
    let files: Vec<(&str, Vec<u8>)> = match mode % 4 {
        0 => vec![(SEGMENT, rest.to_vec())],
        1 => vec![(SEGMENT, frame_records(rest, true))],
        2 => vec![(SEGMENT, frame_records(rest, false))],
        _ => vec![("snap-0000000000000001.snap", rest.to_vec()), ("wal-0000000000000000-0000000000000002.log", vec![])],
    };
    if write_files(&fs, dir, &files).is_err() {
        return;
    }
    let exec = Arc::new(DeterministicExecutor::new());
    let open = || {
        let config = DurableKvConfig::default().snapshot_every(1 << 20);
        DurableKv::open(dir, config, Arc::new(ManualClock::new()), exec.clone(), Arc::new(fs.clone()))
    };
    let Ok(kv) = open() else { return };
    let before = futures::executor::block_on(kv.range(RangeRequest::prefix("")));
    let put = futures::executor::block_on(kv.put(PutRequest::new("fuzz", "value")));
    let after = futures::executor::block_on(kv.range(RangeRequest::prefix("")));
    kv.close();
    drop(kv);
    let kv = match open() {
        Ok(kv) => kv,
        Err(e) => panic!("a log that opened once does not reopen: {e} (read {before:?}, put {put:?})"),
    };
    let again = futures::executor::block_on(kv.range(RangeRequest::prefix("")));
    if put.is_ok() {
        assert_eq!(again.map(|r| r.kvs), after.map(|r| r.kvs), "the state changed across a reopen");
    }
    kv.close();
}

/// The name of the first log segment (sequence 0, first index 1).
const SEGMENT: &str = "wal-0000000000000000-0000000000000001.log";

fn write_files(fs: &FaultyFs, dir: &Path, files: &[(&str, Vec<u8>)]) -> std::io::Result<()> {
    fs.create_dir_all(dir)?;
    for (name, bytes) in files {
        let mut f = fs.create(&dir.join(name))?;
        f.write_all(bytes)?;
        f.sync_data()?;
    }
    fs.sync_dir(dir)
}

/// Frames `len: u16 LE ‖ payload` records as the log does (`len | crc32 | index ‖ payload`),
/// numbering them from 1 when `number` is set (else each payload starts with its own index).
fn frame_records(mut input: &[u8], number: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut index = 1u64;
    while let [lo, hi, rest @ ..] = input {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
        let (payload, tail) = rest.split_at(len);
        let mut body = Vec::with_capacity(8 + payload.len());
        if number {
            body.extend_from_slice(&index.to_le_bytes());
        }
        body.extend_from_slice(payload);
        frame(&mut out, &body);
        index += 1;
        input = tail;
    }
    out
}

/// Appends one log frame holding `body`. Written from the format documented in orch-store's
/// `durable/record.rs` rather than calling its (private) encoder, so the harness also checks
/// that the reader accepts the documented format.
pub fn frame(out: &mut Vec<u8>, body: &[u8]) {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(body);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(body);
}
