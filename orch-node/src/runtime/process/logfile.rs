//! Per-container log files: rotation by copy-and-truncate, tail and follow.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;

use crate::runtime::{ExitInfo, LogOptions, LogStream, RuntimeError};

/// Rotates `path` when it is larger than `max_bytes`: `path.N-1` → `path.N`, …, a copy of
/// `path` → `path.1`, then `path` is truncated. The container keeps writing through its
/// append-mode descriptor, so nothing is lost but the bytes written during the copy.
pub(crate) fn rotate_if_large(path: &Path, max_bytes: u64, keep: usize) -> std::io::Result<bool> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if len <= max_bytes {
        return Ok(false);
    }
    if keep == 0 {
        std::fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
        return Ok(true);
    }
    for n in (1..keep).rev() {
        let from = numbered(path, n);
        if from.exists() {
            std::fs::rename(&from, numbered(path, n + 1))?;
        }
    }
    std::fs::copy(path, numbered(path, 1))?;
    std::fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
    Ok(true)
}

/// `path.n`
pub(crate) fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// The last `n` lines of `data`.
pub(crate) fn tail(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &data[data.len()..];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut count = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            count += 1;
            if count == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

fn read_from(path: &Path, pos: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    // A file shorter than what was read was rotated: start over from its beginning.
    let pos = if len < pos { 0 } else { pos };
    f.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let end = pos + buf.len() as u64;
    Ok((buf, end))
}

/// A stream of the log at `path`: what is there (or its tail), then, when following, new
/// output until the container has exited and everything it wrote was sent.
pub(crate) fn log_stream(
    path: PathBuf,
    options: &LogOptions,
    exited: watch::Receiver<Option<ExitInfo>>,
    poll: Duration,
) -> Result<LogStream, RuntimeError> {
    let (data, pos) = read_from(&path, 0)?;
    let first = match options.tail_lines {
        Some(n) => Bytes::copy_from_slice(tail(&data, n)),
        None => Bytes::from(data),
    };
    let head = futures::stream::iter((!first.is_empty()).then_some(Ok(first)));
    if !options.follow {
        return Ok(head.boxed());
    }
    struct Follow {
        path: PathBuf,
        pos: u64,
        exited: watch::Receiver<Option<ExitInfo>>,
        done: bool,
    }
    let state = Follow { path, pos, exited, done: false };
    let rest = futures::stream::unfold(state, move |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            let was_exited = s.exited.borrow().is_some();
            match read_from(&s.path, s.pos) {
                Ok((buf, end)) => {
                    s.pos = end;
                    if !buf.is_empty() {
                        return Some((Ok(Bytes::from(buf)), s));
                    }
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(RuntimeError::from(e)), s));
                }
            }
            if was_exited {
                return None;
            }
            tokio::select! {
                _ = s.exited.changed() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
    Ok(head.chain(rest).boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_takes_the_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(tail(b"a\nb\n", 0), b"");
    }

    #[test]
    fn large_log_is_rotated_and_truncated() {
        let dir = std::env::temp_dir().join(format!("orch-node-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("c.log");
        std::fs::write(&log, vec![b'x'; 100]).unwrap();
        assert!(!rotate_if_large(&log, 200, 2).unwrap());
        assert!(rotate_if_large(&log, 50, 2).unwrap());
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
        assert_eq!(std::fs::read(numbered(&log, 1)).unwrap().len(), 100);
        std::fs::write(&log, vec![b'y'; 60]).unwrap();
        assert!(rotate_if_large(&log, 50, 2).unwrap());
        assert_eq!(std::fs::read(numbered(&log, 2)).unwrap().len(), 100);
        assert_eq!(std::fs::read(numbered(&log, 1)).unwrap().len(), 60);
        let _ = std::fs::remove_dir_all(dir);
    }
}
