//! UDP frontends: one flow per client address, relayed through its own socket, ended when idle.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::ServiceCounters;
use super::balancer::{Endpoint, EndpointPool};
use super::tcp::ConnShared;

/// Datagrams queued per flow before new ones are dropped (UDP may drop).
const FLOW_QUEUE: usize = 256;

/// The socket of one UDP frontend; runs until aborted (which ends its flows).
pub(crate) async fn serve_udp(
    socket: UdpSocket,
    pool: Arc<EndpointPool>,
    counters: ServiceCounters,
    shared: Arc<ConnShared>,
    idle: Duration,
) {
    let socket = Arc::new(socket);
    let mut flows: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<SocketAddr>();
    let mut buf = vec![0u8; 65536];
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, client)) = r else {
                    counters.errors.inc();
                    continue;
                };
                let datagram = buf[..n].to_vec();
                if let Some(tx) = flows.get(&client).filter(|tx| !tx.is_closed()) {
                    // A full queue drops the datagram, as a congested network would.
                    let _ = tx.try_send(datagram);
                    continue;
                }
                let Some(flow) = open_flow(client, &pool, &counters, &shared).await else { continue };
                let (tx, rx) = mpsc::channel(FLOW_QUEUE);
                let _ = tx.try_send(datagram);
                flows.insert(client, tx);
                let (front, counters, done) = (socket.clone(), counters.clone(), done_tx.clone());
                tokio::spawn(relay(flow, front, client, rx, idle, counters, done));
            }
            Some(client) = done_rx.recv() => {
                if flows.get(&client).is_some_and(|tx| tx.is_closed()) {
                    flows.remove(&client);
                }
            }
        }
    }
}

struct Flow {
    endpoint: Arc<Endpoint>,
    upstream: UdpSocket,
    _permit: OwnedSemaphorePermit,
}

async fn open_flow(
    client: SocketAddr,
    pool: &EndpointPool,
    counters: &ServiceCounters,
    shared: &ConnShared,
) -> Option<Flow> {
    let Ok(permit) = shared.fds.clone().try_acquire_owned() else {
        counters.refused.inc();
        return None;
    };
    let Some(endpoint) = pool.pick(client.ip(), Instant::now(), 0) else {
        counters.refused.inc();
        return None;
    };
    let any = match endpoint.addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let upstream = match UdpSocket::bind(SocketAddr::new(any, 0)).await {
        Ok(s) if s.connect(endpoint.addr).await.is_ok() => s,
        _ => {
            counters.errors.inc();
            return None;
        }
    };
    Some(Flow { endpoint, upstream, _permit: permit })
}

async fn relay(
    flow: Flow,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    idle: Duration,
    counters: ServiceCounters,
    done: mpsc::UnboundedSender<SocketAddr>,
) {
    counters.active.inc();
    let mut buf = vec![0u8; 65536];
    let mut gone = flow.endpoint.gone();
    loop {
        tokio::select! {
            d = rx.recv() => match d {
                Some(d) => match flow.upstream.send(&d).await {
                    Ok(n) => { counters.bytes_in.inc_by(n as u64); }
                    Err(_) => { counters.errors.inc(); }
                },
                None => break,
            },
            r = flow.upstream.recv(&mut buf) => match r {
                Ok(n) => match front.send_to(&buf[..n], client).await {
                    Ok(m) => { counters.bytes_out.inc_by(m as u64); }
                    Err(_) => { counters.errors.inc(); }
                },
                // An ICMP "port unreachable" from the endpoint surfaces here; keep the flow.
                Err(_) => { counters.errors.inc(); }
            },
            // Recreated on every pass: any datagram either way restarts the idle timer.
            () = tokio::time::sleep(idle) => break,
            _ = &mut gone => break,
        }
    }
    counters.active.dec();
    drop(rx);
    let _ = done.send(client);
}
