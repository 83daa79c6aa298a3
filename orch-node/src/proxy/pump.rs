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

/// Reads what the socket has. A short read means the socket is drained, so its readiness is
/// cleared at once (as tokio's own `poll_read` does) instead of paying for an `EAGAIN` read.
async fn read(src: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len();
    loop {
        let mut got = None;
        let r = src.try_io(Interest::READABLE, || {
            let n = rustix::io::read(src, &mut *buf).map_err(io::Error::from)?;
            got = Some(n);
            if n > 0 && n < len { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
        });
        match (r, got) {
            (_, Some(n)) => return Ok(n),
            (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => src.readable().await?,
            (r, None) => return r,
        }
    }
}

/// Writes all of `data`; a short write means the socket buffer is full, so readiness is
/// cleared at once and the next attempt waits for room.
async fn write_all(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let len = data.len();
        let mut put = None;
        let r = dst.try_io(Interest::WRITABLE, || {
            let n = rustix::io::write(dst, data).map_err(io::Error::from)?;
            put = Some(n);
            if n < len { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
        });
        match (r, put) {
            (_, Some(0)) => return Err(io::ErrorKind::WriteZero.into()),
            (_, Some(n)) => data = &data[n..],
            (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            (r, None) => return r.map(|_| ()),
        }
    }
    Ok(())
}

const SPLICE: SpliceFlags = SpliceFlags::MOVE.union(SpliceFlags::NONBLOCK);

/// Moves what the socket has (up to the pipe's capacity) into the (empty) pipe.
async fn splice_in(src: &TcpStream, p: &Pipe) -> io::Result<usize> {
    loop {
        let mut got = None;
        let r = src.try_io(Interest::READABLE, || {
            let n = rustix::pipe::splice(src, None, &p.write, None, p.capacity, SPLICE).map_err(io::Error::from)?;
            got = Some(n);
            // Less than asked: the socket is drained (as in `read`).
            if n > 0 && n < p.capacity { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
        });
        match (r, got) {
            (_, Some(n)) => return Ok(n),
            (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => src.readable().await?,
            (r, None) => return r,
        }
    }
}

/// Moves `n` bytes from the pipe into the socket.
async fn splice_out(p: &Pipe, dst: &TcpStream, mut n: usize) -> io::Result<()> {
    while n > 0 {
        let mut put = None;
        let r = dst.try_io(Interest::WRITABLE, || {
            let m = rustix::pipe::splice(&p.read, None, dst, None, n, SPLICE).map_err(io::Error::from)?;
            put = Some(m);
            // Less than asked: the socket buffer is full (as in `write_all`).
            if m < n { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(m) }
        });
        match (r, put) {
            (_, Some(0)) => return Err(io::ErrorKind::WriteZero.into()),
            (_, Some(m)) => n -= m,
            (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            (r, None) => return r.map(|_| ()),
        }
    }
    Ok(())
}
