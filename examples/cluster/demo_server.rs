//! The demo application the cluster runs: this same program, started by the process runtime
//! with `ORCH_DEMO_HTTP=1`, serving `GET /` with its pod's name on `$POD_IP:$PORT`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Set in the demo pods' environment: run as the demo HTTP server instead of the cluster.
pub const DEMO_ENV: &str = "ORCH_DEMO_HTTP";

/// When this process is a demo pod (`ORCH_DEMO_HTTP` set), serves until killed and exits;
/// otherwise returns so the example runs.
pub async fn serve_if_demo_pod() {
    if std::env::var_os(DEMO_ENV).is_some() {
        if let Err(e) = serve().await {
            eprintln!("demo server: {e}");
            std::process::exit(1);
        }
        std::process::exit(0);
    }
}

/// Serves until killed.
pub async fn serve() -> std::io::Result<()> {
    let ip = std::env::var("POD_IP").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let name = std::env::var("POD_NAME").unwrap_or_else(|_| "demo".into());
    let listener = tokio::net::TcpListener::bind(format!("{ip}:{port}")).await?;
    println!("demo server {name} listening on {ip}:{port}");
    loop {
        let (mut conn, _) = listener.accept().await?;
        let body = format!("hello from {name}\n");
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(resp.as_bytes()).await;
        });
    }
}

/// One `GET /` to `addr`: the answer's body.
pub async fn get(addr: &str) -> Result<String, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n").await.map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.map_err(|e| e.to_string())?;
        out.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string()).ok_or_else(|| "empty answer".to_string())
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), fut).await.map_err(|_| "no answer in 3 s".to_string())?
}

/// `get`, retried for up to 5 s: a Service starts answering once the proxy has seen its ready
/// endpoints, which can trail the pods' readiness by a moment.
pub async fn get_when_serving(addr: &str) -> Result<String, String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match get(addr).await {
            Ok(body) => return Ok(body),
            Err(e) if std::time::Instant::now() > deadline => return Err(format!("{addr}: {e}")),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}
