//! Taking one probe result: exec through the runtime, HTTP GET and TCP connect from the agent.

use std::time::Duration;

use orch_core::kinds::{ContainerPort, IntOrString, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::runtime::{ContainerId, ContainerRuntime};

/// Where a probe goes: the pod's IP and the container's declared ports (for named ports).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The pod IP (the default host of HTTP and TCP probes).
    pub pod_ip: String,
    /// The container's ports, to resolve a named `port`.
    pub ports: Vec<ContainerPort>,
}

impl ProbeTarget {
    /// Resolves a port number or a container port's name.
    pub fn port(&self, port: &IntOrString) -> Option<u16> {
        match port {
            IntOrString::Int(n) => u16::try_from(*n).ok(),
            IntOrString::String(name) => match name.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => self
                    .ports
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
                    .and_then(|p| u16::try_from(p.container_port).ok()),
            },
        }
    }
}

/// Runs one probe; `true` when it succeeded within `timeout`. Misconfigured probes (unknown
/// port name, no handler, HTTPS, gRPC) fail, with a debug log saying why.
pub async fn run_probe(
    probe: &Probe,
    target: &ProbeTarget,
    runtime: &dyn ContainerRuntime,
    id: &ContainerId,
    timeout: Duration,
) -> bool {
    if let Some(exec) = &probe.exec {
        return match runtime.exec(id, &exec.command, timeout).await {
            Ok(r) => r.exit_code == 0 && !r.timed_out,
            Err(e) => {
                tracing::debug!(container = %id, error = %e, "exec probe failed to run");
                false
            }
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let Some(port) = target.port(&tcp.port) else { return false };
        let host = tcp.host.clone().unwrap_or_else(|| target.pod_ip.clone());
        return matches!(tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await, Ok(Ok(_)));
    }
    if let Some(http) = &probe.http_get {
        if http.scheme.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case("http")) {
            tracing::debug!(container = %id, "only HTTP probes are supported, not HTTPS");
            return false;
        }
        let Some(port) = target.port(&http.port) else { return false };
        let host = http.host.clone().unwrap_or_else(|| target.pod_ip.clone());
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> =
            http.http_headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
        return matches!(
            tokio::time::timeout(timeout, http_get_status(&host, port, &path, &headers)).await,
            Ok(Ok(code)) if (200..400).contains(&code)
        );
    }
    tracing::debug!(container = %id, "probe has no supported handler");
    false
}

/// One HTTP/1.1 GET; the response's status code.
pub(crate) async fn http_get_status(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect((host, port)).await?;
    let mut req =
        format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: orch-probe/1.0\r\nAccept: */*\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_ports_resolve_from_the_container() {
        let t = ProbeTarget {
            pod_ip: "127.0.0.1".into(),
            ports: vec![ContainerPort { name: Some("http".into()), container_port: 8080, ..Default::default() }],
        };
        assert_eq!(t.port(&IntOrString::String("http".into())), Some(8080));
        assert_eq!(t.port(&IntOrString::String("9090".into())), Some(9090));
        assert_eq!(t.port(&IntOrString::Int(80)), Some(80));
        assert_eq!(t.port(&IntOrString::String("nope".into())), None);
    }
}
