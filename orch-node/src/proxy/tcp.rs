//! TCP frontends: accept, choose an endpoint, connect, forward until either side or the endpoint ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ServiceCounters;
use super::balancer::EndpointPool;
use super::pump::{PumpConfig, pump};

/// What every connection of a backend shares.
#[derive(Debug)]
pub(crate) struct ConnShared {
    /// One permit per file descriptor the proxy may hold open for connections.
    pub(crate) fds: Arc<Semaphore>,
    /// How bytes move.
    pub(crate) pump: PumpConfig,
    /// Limit on connecting to an endpoint.
    pub(crate) connect_timeout: Duration,
}

/// The listener of one frontend; runs until aborted.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    pool: Arc<EndpointPool>,
    counters: super::ServiceCounters,
    shared: Arc<ConnShared>,
) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors or a connection that died in the backlog: count, pause, go on.
                counters.errors.inc();
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        // The client's socket and the endpoint's: two descriptors per connection.
        let Ok(permit) = shared.fds.clone().try_acquire_many_owned(2) else {
            counters.refused.inc();
            reset(client);
            continue;
        };
        tokio::spawn(serve(client, peer, pool.clone(), counters.clone(), shared.clone(), permit));
    }
}

/// Closes a client connection with a reset, so it fails at once instead of waiting.
fn reset(client: TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(&client, Some(Duration::ZERO));
    drop(client);
}

async fn serve(
    client: TcpStream,
    peer: SocketAddr,
    pool: Arc<EndpointPool>,
    counters: ServiceCounters,
    shared: Arc<ConnShared>,
    _permit: OwnedSemaphorePermit,
) {
    let mut attempt = 0;
    let (endpoint, upstream) = loop {
        let Some(ep) = pool.pick(peer.ip(), Instant::now(), attempt) else {
            counters.refused.inc();
            return reset(client);
        };
        match tokio::time::timeout(shared.connect_timeout, TcpStream::connect(ep.addr)).await {
            Ok(Ok(s)) => break (ep, s),
            Ok(Err(_)) | Err(_) => {
                counters.errors.inc();
                attempt += 1;
                if attempt >= pool.len().min(3) {
                    return reset(client);
                }
            }
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    counters.active.inc();
    let gone = endpoint.gone();
    let result = tokio::select! {
        biased;
        r = pump(&client, &upstream, &shared.pump, &counters, &shared.fds) => r,
        _ = gone => Ok(()),
    };
    if let Err(e) = result {
        counters.errors.inc();
        tracing::debug!(error = %e, endpoint = %endpoint.addr, "connection failed");
    }
    counters.active.dec();
}
