//! `Workers`: the data path's own threads, one single-threaded tokio runtime each.
//!
//! Like HAProxy's `nbthread`: every frontend has one listener per worker (SO_REUSEPORT, so the
//! kernel spreads new connections), and a connection lives on the thread that accepted it, so
//! forwarding never wakes another thread.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Runtimes on dedicated threads; they stop when this is dropped.
pub(crate) struct Workers {
    handles: Vec<Handle>,
    _stop: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `n` worker threads.
    pub(crate) fn start(n: usize) -> io::Result<Workers> {
        let (mut handles, mut stop) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (tx, rx) = oneshot::channel::<()>();
            handles.push(rt.handle().clone());
            std::thread::Builder::new().name(format!("orch-proxy-{i}")).spawn(move || {
                // Runs the worker's tasks until the backend is dropped.
                rt.block_on(async {
                    let _ = rx.await;
                });
            })?;
            stop.push(tx);
        }
        Ok(Workers { handles, _stop: stop })
    }

    /// The runtimes to spawn frontends on.
    pub(crate) fn handles(&self) -> &[Handle] {
        &self.handles
    }
}

/// A listening TCP socket on `addr`; with `shared`, several may listen on the same address.
pub(crate) fn tcp_listener(addr: SocketAddr, shared: bool) -> io::Result<std::net::TcpListener> {
    let fd = socket(addr, SocketType::STREAM, shared)?;
    rustix::net::listen(&fd, 1024)?;
    Ok(std::net::TcpListener::from(fd))
}

/// A bound UDP socket on `addr`; with `shared`, several may bind the same address (the kernel
/// keeps each client on one of them).
pub(crate) fn udp_socket(addr: SocketAddr, shared: bool) -> io::Result<std::net::UdpSocket> {
    Ok(std::net::UdpSocket::from(socket(addr, SocketType::DGRAM, shared)?))
}

fn socket(addr: SocketAddr, type_: SocketType, shared: bool) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let fd = rustix::net::socket_with(family, type_, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if shared {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    Ok(fd)
}
