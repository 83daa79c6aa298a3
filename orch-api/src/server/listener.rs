//! Accepting connections: plain HTTP or TLS, on a listener the caller binds, until shut down.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connections::{Admission, Admitted, Connection, Connections, InFlight};
use super::{ApiServer, ServerTls};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the address failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Authentication is off and the address is not loopback.
    #[error(
        "refusing to serve {addr} without authentication: only loopback addresses may run with auth off \
         (configure an authenticator, or bind 127.0.0.1)"
    )]
    InsecureAddress {
        /// The address.
        addr: SocketAddr,
    },
}

/// A server accepting connections in the background.
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL (`https://127.0.0.1:PORT` or `http://...`).
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting, closes every open connection (watches included) and waits for the loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl ApiServer {
    /// Binds `addr` and serves in the background, over TLS when `tls` is given.
    ///
    /// # Errors
    /// The address cannot be bound, or authentication is off on a non-loopback address.
    pub async fn bind(self, addr: SocketAddr, tls: Option<ServerTls>) -> Result<RunningServer, ServeError> {
        let auth_on = self.state.config.authenticator.is_some();
        if !auth_on && !addr.ip().is_loopback() {
            return Err(ServeError::InsecureAddress { addr });
        }
        let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
        let _ = self.state.address.set(addr.to_string());
        if !auth_on {
            eprintln!("orch-api: authentication is OFF; serving {addr} (loopback only)");
        }
        let (stop, stopped) = watch::channel(false);
        let is_tls = tls.is_some();
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
        let task = tokio::spawn(accept_loop(self, listener, acceptor, stopped));
        Ok(RunningServer { addr, tls: is_tls, stop, task })
    }
}

async fn accept_loop(
    server: ApiServer,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
) {
    let router = server.router();
    let config = &server.state.config;
    let limits = Limits { header_read: config.header_read_timeout, tls_handshake: config.tls_handshake_timeout };
    let metrics = &server.state.metrics;
    let open = Connections::new(config.max_connections, metrics.connections_gauge());
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => tcp,
            // Out of file descriptors (or another transient failure): let connections finish.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let admitted = match open.admit() {
            Admission::Admitted(a) => a,
            Admission::Replaced(a) => {
                metrics.connection_closed_at_limit();
                a
            }
            Admission::Full => {
                metrics.connection_closed_at_limit();
                drop(tcp);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        connections.spawn(serve(tcp, tls.clone(), router.clone(), admitted, limits));
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

#[derive(Clone, Copy)]
struct Limits {
    header_read: Duration,
    tls_handshake: Duration,
}

/// Serves one connection until it ends, times out or is closed by the server.
async fn serve(
    tcp: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    admitted: Admitted,
    limits: Limits,
) {
    let connection = admitted.connection.clone();
    let in_requests = connection.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let in_flight = in_requests.enter();
        req.extensions_mut().insert(ConnectionHandle(in_requests.clone()));
        let mut router = router.clone();
        async move {
            let resp = tower_service::Service::call(&mut router, req.map(axum::body::Body::new)).await?;
            Ok::<_, std::convert::Infallible>(resp.map(|body| TrackedBody { body, _in_flight: in_flight }))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let work = async move {
        match tls {
            Some(acceptor) => {
                if let Ok(Ok(stream)) = tokio::time::timeout(limits.tls_handshake, acceptor.accept(tcp)).await {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
            None => {
                let _ = http.serve_connection(TokioIo::new(tcp), service).await;
            }
        }
    };
    tokio::select! {
        _ = work => {}
        _ = connection.closed() => {}
    }
    drop(admitted);
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
struct TrackedBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection a request arrived on (a request extension), so a handler can close it.
#[derive(Clone)]
pub(crate) struct ConnectionHandle(pub(crate) Arc<Connection>);
