//! Requests a hostile client sends: missing and forged tokens, a node writing what is not its own, path traversal, bad bodies.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_without_or_with_forged_tokens_are_401_and_write_nothing() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let junk = format!("Bearer {}", "A".repeat(64 << 10));
    let credentials: Vec<Option<String>> = vec![
        None,
        Some("Bearer forged-token".into()),
        Some("Bearer admin-tokenX".into()),
        Some("Bearer admin".into()),
        Some("Bearer ".into()),
        Some("admin-token".into()),
        Some("Basic YWRtaW46YWRtaW4tdG9rZW4=".into()),
        Some("Bearer node1-token,admin-token".into()),
        Some(junk),
    ];
    let pod = serde_json::to_vec(&kit::pod("intruder")).unwrap();
    let requests: [(&str, &str, &[u8]); 5] = [
        ("POST", "/api/v1/namespaces/default/pods", &pod),
        ("DELETE", "/api/v1/namespaces/default", b""),
        ("PATCH", "/api/v1/namespaces/default/pods/probe", br#"{"metadata":{"labels":{"owned":"yes"}}}"#),
        ("GET", "/api/v1/namespaces/kube-system/pods", b""),
        ("GET", "/api/v1/pods?watch=true", b""),
    ];
    let mut refused = 0;
    for _ in 0..counts().rounds {
        for cred in &credentials {
            for (method, path, body) in &requests {
                let mut headers = vec![("Content-Type", "application/merge-patch+json")];
                if let Some(c) = cred {
                    headers.push(("Authorization", c.as_str()));
                }
                let reply = exchange(&h.addr, method, path, &headers, body).await.unwrap();
                assert_eq!(
                    reply.code,
                    401,
                    "{method} {path} with {:?}: {}",
                    cred.as_deref().map(|c| &c[..c.len().min(30)]),
                    message(&reply)
                );
                assert!(reply.head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{}", reply.head);
                refused += 1;
            }
        }
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report("forged tokens", &before, &during, &format!("{refused} requests refused with 401"));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_node_identity_cannot_write_another_nodes_pods_nodes_or_leases() {
    let h = Hostile::start().await;
    let admin = h.client("admin-token");
    for node in ["n1", "n2"] {
        Api::<Node>::all(admin.clone())
            .create(&Node { metadata: ObjectMeta::named(node), ..Default::default() })
            .await
            .unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    for (name, node) in [("mine", Some("n1")), ("theirs", Some("n2")), ("free", None)] {
        pods.create(&kit::pod(name)).await.unwrap();
        if let Some(node) = node {
            pods.bind(name, node).await.unwrap();
        }
    }
    let theirs = serde_json::to_vec(&pods.get("theirs").await.unwrap()).unwrap();
    let mut stolen: Value = serde_json::from_slice(&theirs).unwrap();
    stolen["spec"]["nodeName"] = json!("n1");
    let stolen = serde_json::to_vec(&stolen).unwrap();
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let node1 = || {
        vec![
            ("Authorization", "Bearer node1-token".to_string()),
            ("Content-Type", "application/merge-patch+json".to_string()),
        ]
    };
    let forbidden: &[u16] = &[403];
    let bad: &[u16] = &[400];
    let ns = "/api/v1/namespaces/default";
    let cases: Vec<Case> = vec![
        ("PUT", format!("{ns}/pods/theirs"), node1(), stolen.clone(), forbidden),
        ("PUT", format!("{ns}/pods/theirs/status"), node1(), theirs.clone(), forbidden),
        ("PATCH", format!("{ns}/pods/theirs"), node1(), br#"{"spec":{"nodeName":"n1"}}"#.to_vec(), forbidden),
        ("PATCH", format!("{ns}/pods/mine"), node1(), br#"{"spec":{"nodeName":"n2"}}"#.to_vec(), forbidden),
        ("DELETE", format!("{ns}/pods/theirs"), node1(), vec![], forbidden),
        ("DELETE", format!("{ns}/pods/free"), node1(), vec![], forbidden),
        ("DELETE", format!("{ns}/pods"), node1(), vec![], forbidden),
        ("POST", format!("{ns}/pods/free/binding"), node1(), br#"{"target":{"name":"n1"}}"#.to_vec(), forbidden),
        (
            "POST",
            format!("{ns}/pods/theirs/eviction"),
            node1(),
            br#"{"metadata":{"name":"theirs"}}"#.to_vec(),
            forbidden,
        ),
        ("PATCH", "/api/v1/nodes/n2/status".into(), node1(), br#"{"status":{"phase":"Down"}}"#.to_vec(), forbidden),
        ("DELETE", "/api/v1/nodes/n2".into(), node1(), vec![], forbidden),
        (
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases".into(),
            node1(),
            br#"{"metadata":{"name":"n2"},"spec":{"holderIdentity":"n1"}}"#.to_vec(),
            forbidden,
        ),
        ("PATCH", format!("{ns}/pods/mine%2F..%2Ftheirs/status"), node1(), br#"{"status":{}}"#.to_vec(), bad),
        ("PATCH", "/api/v1/nodes/n1%2F..%2Fn2/status".into(), node1(), br#"{"status":{}}"#.to_vec(), bad),
    ];
    for _ in 0..counts().rounds {
        expect_codes(&h.addr, &cases).await;
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    let pod = pods.get("theirs").await.unwrap();
    assert_eq!(pod.spec.node_name.as_deref(), Some("n2"));
    report("node identity", &before, &during, &format!("{} writes refused", cases.len() * counts().rounds));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_path_traversal_in_names_and_namespaces_reaches_nothing() {
    let h = Hostile::start().await;
    Api::<Pod>::namespaced(h.client("admin-token"), "kube-system").create(&kit::pod("secret")).await.unwrap();
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let admin = || vec![("Authorization", ADMIN.to_string()), ("Content-Type", "application/json".to_string())];
    let bad: &[u16] = &[400];
    let refused: &[u16] = &[400, 404, 422];
    let body = |name: &str, ns: Option<&str>| {
        let mut pod = serde_json::to_value(kit::pod(name)).unwrap();
        if let Some(ns) = ns {
            pod["metadata"]["namespace"] = json!(ns);
        }
        serde_json::to_vec(&pod).unwrap()
    };
    let ns = "/api/v1/namespaces";
    let cases: Vec<Case> = vec![
        ("GET", format!("{ns}/default/pods/..%2F..%2Fkube-system%2Fpods%2Fsecret"), admin(), vec![], bad),
        ("GET", format!("{ns}/default%2F..%2Fkube-system/pods/secret"), admin(), vec![], bad),
        ("GET", format!("{ns}/%2E%2E/pods"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/.%2E"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/%252E%252E%252Fsecret"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/../../kube-system/pods/secret"), admin(), vec![], refused),
        ("GET", format!("{ns}/default/pods/..%5C..%5Ckube-system%5Csecret"), admin(), vec![], &[404]),
        ("GET", "/api/v1/nodes/..%2Fnamespaces%2Fkube-system".into(), admin(), vec![], bad),
        ("PUT", format!("{ns}/default/pods/..%2Fsecret"), admin(), body("../secret", None), bad),
        ("DELETE", format!("{ns}/kube-system%2Fpods%2Fsecret/pods/x"), admin(), vec![], bad),
        ("DELETE", format!("{ns}/default/pods/..%2F..%2Fkube-system%2Fpods%2Fsecret"), admin(), vec![], bad),
        ("POST", format!("{ns}/..%2Fkube-system/pods"), admin(), body("evil", None), bad),
        ("POST", format!("{ns}/default/pods"), admin(), body("../../kube-system/pods/evil", None), &[400, 422]),
        ("POST", format!("{ns}/default/pods"), admin(), body("evil", Some("../kube-system")), bad),
        ("POST", format!("{ns}/default/pods"), admin(), body("evil%2Fx", None), &[400, 422]),
    ];
    for _ in 0..counts().rounds {
        expect_codes(&h.addr, &cases).await;
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report("path traversal", &before, &during, &format!("{} requests refused", cases.len() * counts().rounds));
    h.running.shutdown().await;
}

/// `[[[...]]]` nested `depth` deep as a pod's `spec`.
fn nested_pod(depth: usize) -> Vec<u8> {
    let mut body = br#"{"metadata":{"name":"deep"},"spec":{"x":"#.to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.extend(b"}}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streamed_oversized_and_deeply_nested_bodies_are_refused_naming_the_position() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let pods = "/api/v1/namespaces/default/pods";
    // 8 MiB in chunks without a Content-Length: refused while streaming.
    let mut stream = TcpStream::connect(&h.addr).await.unwrap();
    let head = format!(
        "POST {pods} HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 << 10];
    let mut sent = 0usize;
    for _ in 0..128 {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let reply = tokio::time::timeout(GENEROUS, read_reply(&mut stream)).await.unwrap().unwrap();
    assert_eq!(reply.code, 413, "{}", message(&reply));

    let deep = nested_pod(100_000);
    let yaml_deep =
        [b"metadata: {name: deep}\nspec: {x: ".to_vec(), vec![b'['; 100_000], vec![b']'; 100_000], b"}\n".to_vec()]
            .concat();
    let mut bomb = String::from("metadata: {name: bomb}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases: [BodyCase; 5] = [
        ("POST", pods.to_string(), "application/json", &deep, &["recursion limit", "line 1 column"]),
        (
            "POST",
            format!("{pods}?fieldValidation=Strict"),
            "application/json",
            &deep,
            &["recursion limit", "line 1 column"],
        ),
        (
            "PATCH",
            format!("{pods}/probe"),
            "application/merge-patch+json",
            &deep,
            &["recursion limit", "line 1 column"],
        ),
        ("POST", pods.to_string(), "application/yaml", &yaml_deep, &["recursion limit", "line 2 column"]),
        ("POST", pods.to_string(), "application/yaml", bomb.as_bytes(), &["repetition limit"]),
    ];
    for (method, path, content_type, body, says) in &cases {
        let reply = exchange(&h.addr, method, path, &[("Authorization", ADMIN), ("Content-Type", content_type)], body)
            .await
            .unwrap();
        let text = message(&reply);
        assert_eq!(reply.code, 400, "{method} {path} ({content_type}): {text}");
        for s in *says {
            assert!(text.contains(s), "{method} {path} ({content_type}): {text:?} should say {s:?}");
        }
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report(
        "bodies",
        &before,
        &during,
        &format!(
            "chunked body refused with 413 after {} KiB streamed; 100,000-deep JSON and YAML, YAML alias bomb: 400",
            sent >> 10
        ),
    );
    h.running.shutdown().await;
}
