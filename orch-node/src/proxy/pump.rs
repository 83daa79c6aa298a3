//! Moving bytes between two TCP sockets: a buffered copy that switches to splice(2) for bulk.
//!
//! Each direction starts by copying through a small buffer (cheapest for short requests). When
//! one read fills the whole buffer the direction is carrying bulk data, and it moves to a pipe:
//! `splice(socket → pipe)` then `splice(pipe → socket)`, so the bytes never cross into user
//! space (the kernel moves page references). Where splice is unavailable (no pipe, no file
//! descriptor left, a socket type splice refuses) the direction keeps copying.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
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
    let mut may_splice = cfg.splice;
    loop {
        let n = read(src, &mut buf).await?;
        if n == 0 {
            break;
        }
        write_all(dst, &buf[..n]).await?;
        bytes.inc_by(n as u64);
        if n == buf.len() && may_splice {
            let Some(pipe) = Pipe::open(cfg, fds) else {
                may_splice = false;
                continue;
            };
            match splice_loop(src, dst, &pipe, bytes, spliced).await? {
                SpliceEnd::Eof => break,
                // The kernel refuses to splice these sockets: copy from now on.
                SpliceEnd::Unsupported => may_splice = false,
            }
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

/// How a spliced direction ended.
enum SpliceEnd {
    /// The source reached EOF and every byte was delivered.
    Eof,
    /// splice(2) is not supported for these sockets; nothing was moved.
    Unsupported,
}

/// Moves bytes socket → pipe → socket until EOF, pulling more in whenever some went out, so
/// the receiving and sending sides overlap.
///
/// Readiness is subtle here: with data in the pipe, `EAGAIN` from the inbound splice may mean
/// "pipe full" rather than "socket empty", so those attempts bypass tokio's readiness tracking
/// and the loop then waits only for the outbound socket. The source's readiness is consulted
/// (and cleared by `EAGAIN`) only while the pipe is empty, where `EAGAIN` means "no data".
async fn splice_loop(
    src: &TcpStream,
    dst: &TcpStream,
    p: &Pipe,
    bytes: &Counter,
    spliced: &Counter,
) -> io::Result<SpliceEnd> {
    let (mut in_pipe, mut eof, mut moved) = (0usize, false, false);
    loop {
        let mut progressed = false;
        let room = p.capacity.saturating_sub(in_pipe);
        // A zero-length splice returns 0, which must not be mistaken for EOF.
        if !eof && room > 0 {
            let r = if in_pipe == 0 {
                ready_splice(src, Interest::READABLE, src, &p.write, room)
            } else {
                raw_splice(src, &p.write, room)
            };
            match r {
                Ok(Some(0)) => eof = true,
                Ok(Some(n)) => (in_pipe, progressed, moved) = (in_pipe + n, true, true),
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidInput && !moved => return Ok(SpliceEnd::Unsupported),
                Err(e) => return Err(e),
            }
        }
        if in_pipe > 0 {
            match ready_splice(dst, Interest::WRITABLE, &p.read, dst, in_pipe) {
                Ok(Some(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Some(m)) => {
                    (in_pipe, progressed) = (in_pipe - m, true);
                    bytes.inc_by(m as u64);
                    spliced.inc_by(m as u64);
                }
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        if eof && in_pipe == 0 {
            return Ok(SpliceEnd::Eof);
        }
        if progressed {
            continue;
        }
        if in_pipe == 0 {
            src.readable().await?;
        } else {
            dst.writable().await?;
        }
    }
}

/// One splice of up to `len` bytes, gated by `sock`'s readiness for `interest` (`Ok(None)`:
/// would block, readiness cleared). Unlike plain reads and writes, a short splice says nothing
/// about the socket (the kernel moves at most a few pipe buffers per call), so only `EAGAIN`
/// clears the readiness.
fn ready_splice(
    sock: &TcpStream,
    interest: Interest,
    from: impl AsFd,
    to: impl AsFd,
    len: usize,
) -> io::Result<Option<usize>> {
    let r =
        sock.try_io(interest, || rustix::pipe::splice(&from, None, &to, None, len, SPLICE).map_err(io::Error::from));
    match r {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// One splice outside tokio's readiness tracking (`Ok(None)` on `EAGAIN`).
fn raw_splice(from: impl AsFd, to: impl AsFd, len: usize) -> io::Result<Option<usize>> {
    match rustix::pipe::splice(&from, None, &to, None, len, SPLICE) {
        Ok(n) => Ok(Some(n)),
        Err(rustix::io::Errno::AGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
