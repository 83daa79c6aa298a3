//! Moving bytes between two TCP sockets: a buffered copy that switches to splice(2) for bulk.
//!
//! Each direction starts by copying through a small buffer (cheapest for short requests). When
//! one read fills the whole buffer the direction is carrying bulk data, and it moves to a pipe:
//! `splice(socket → pipe)` then `splice(pipe → socket)`, so the bytes never cross into user
//! space (the kernel moves page references). Where splice is unavailable (no pipe, no file
//! descriptor left, a socket type splice refuses) the direction keeps copying.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use rustix::net::Shutdown;
use rustix::pipe::{PipeFlags, SpliceFlags};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ServiceCounters;

/// How connections move their bytes.
#[derive(Clone, Debug)]
pub(crate) struct PumpConfig {
    /// Use splice(2) for bulk transfers.
    pub(crate) splice: bool,
    /// Capacity requested for each pipe.
    pub(crate) pipe_size: usize,
    /// Size of the copy buffer of each direction.
    pub(crate) buffer_size: usize,
}

/// A pipe and the file-descriptor permits it holds.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    _permit: OwnedSemaphorePermit,
}

impl Pipe {
    /// A non-blocking pipe, if a file-descriptor permit and the kernel allow one.
    fn open(cfg: &PumpConfig, fds: &Arc<Semaphore>) -> Option<Pipe> {
        let permit = fds.clone().try_acquire_many_owned(2).ok()?;
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC).ok()?;
        // A larger pipe means fewer system calls per byte; the kernel may grant less.
        let capacity = rustix::pipe::fcntl_setpipe_size(&write, cfg.pipe_size).unwrap_or(65536);
        Some(Pipe { read, write, capacity, _permit: permit })
    }
}

/// Forwards both directions until both have ended (EOF passed on as a half-close) or one fails.
pub(crate) async fn pump(
    client: &TcpStream,
    upstream: &TcpStream,
    cfg: &PumpConfig,
    counters: &ServiceCounters,
    fds: &Arc<Semaphore>,
) -> io::Result<()> {
    let up = one_way(client, upstream, cfg, &counters.bytes_in, &counters.spliced, fds);
    let down = one_way(upstream, client, cfg, &counters.bytes_out, &counters.spliced, fds);
    tokio::try_join!(up, down).map(|_| ())
}

async fn one_way(
    src: &TcpStream,
    dst: &TcpStream,
    cfg: &PumpConfig,
    bytes: &Counter,
    spliced: &Counter,
    fds: &Arc<Semaphore>,
) -> io::Result<()> {
    let mut buf = vec![0u8; cfg.buffer_size.max(1024)];
    let mut pipe: Option<Pipe> = None;
    let mut may_splice = cfg.splice;
    loop {
        if let Some(p) = &pipe {
            match splice_in(src, p).await {
                Ok(0) => break,
                Ok(n) => {
                    splice_out(p, dst, n).await?;
                    bytes.inc_by(n as u64);
                    spliced.inc_by(n as u64);
                    continue;
                }
                // The kernel refuses to splice these sockets: copy from now on (the pipe is empty).
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    pipe = None;
                    may_splice = false;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let n = read(src, &mut buf).await?;
        if n == 0 {
            break;
        }
        write_all(dst, &buf[..n]).await?;
        bytes.inc_by(n as u64);
        if n == buf.len() && may_splice {
            pipe = Pipe::open(cfg, fds);
            may_splice = pipe.is_some();
        }
    }
    // Pass the EOF on; the other direction may still be running.
    let _ = rustix::net::shutdown(dst, Shutdown::Write);
    Ok(())
}

async fn read(src: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => src.readable().await?,
            other => return other,
        }
    }
}

async fn write_all(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match dst.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

const SPLICE: SpliceFlags = SpliceFlags::MOVE.union(SpliceFlags::NONBLOCK);

/// Moves what the socket has (up to the pipe's capacity) into the (empty) pipe.
async fn splice_in(src: &TcpStream, p: &Pipe) -> io::Result<usize> {
    loop {
        let r = src.try_io(Interest::READABLE, || {
            rustix::pipe::splice(src, None, &p.write, None, p.capacity, SPLICE).map_err(io::Error::from)
        });
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => src.readable().await?,
            other => return other,
        }
    }
}

/// Moves `n` bytes from the pipe into the socket.
async fn splice_out(p: &Pipe, dst: &TcpStream, mut n: usize) -> io::Result<()> {
    while n > 0 {
        let r = dst.try_io(Interest::WRITABLE, || {
            rustix::pipe::splice(&p.read, None, dst, None, n, SPLICE).map_err(io::Error::from)
        });
        match r {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(m) => n -= m,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
