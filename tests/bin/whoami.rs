//! `orch-whoami`: a tiny HTTP server for end-to-end tests. It listens on `$POD_IP:$PORT`
//! (defaults 127.0.0.1:8080) and answers `GET /` with `$POD_NAME` (and `$VERSION` when set),
//! `GET /healthz` with 200 while ready, `GET /unready` by turning not-ready (so `/healthz`
//! answers 503), `GET /ready` back. On SIGTERM it keeps serving for `$DRAIN_MS` (default 3000)
//! milliseconds before it exits, as a well-behaved server drains while its endpoint is removed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ip = std::env::var("POD_IP").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let mut name = std::env::var("POD_NAME").unwrap_or_else(|_| "whoami".into());
    if let Ok(version) = std::env::var("VERSION") {
        name = format!("{name} {version}");
    }
    let name = Arc::new(name);
    let drain_ms: u64 = std::env::var("DRAIN_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    tokio::spawn(async move {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            term.recv().await;
            tokio::time::sleep(std::time::Duration::from_millis(drain_ms)).await;
            std::process::exit(0);
        }
    });
    let listener = match tokio::net::TcpListener::bind(format!("{ip}:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("whoami: cannot listen on {ip}:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("whoami {name} listening on {ip}:{port}");
    let ready = Arc::new(AtomicBool::new(true));
    loop {
        let Ok((mut conn, _)) = listener.accept().await else { continue };
        let (name, ready) = (name.clone(), ready.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (code, body) = match path {
                "/healthz" if ready.load(Ordering::SeqCst) => ("200 OK", "ok\n".to_string()),
                "/healthz" => ("503 Service Unavailable", "not ready\n".to_string()),
                "/unready" => {
                    ready.store(false, Ordering::SeqCst);
                    ("200 OK", "now not ready\n".to_string())
                }
                "/ready" => {
                    ready.store(true, Ordering::SeqCst);
                    ("200 OK", "now ready\n".to_string())
                }
                _ => ("200 OK", format!("{name}\n")),
            };
            let resp = format!("HTTP/1.1 {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = conn.write_all(resp.as_bytes()).await;
        });
    }
}
