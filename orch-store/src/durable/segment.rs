//! WAL segment files: their names, and recovery (replay of good records, torn-tail repair,
//! `Corrupt` for damage before the tail).
//!
//! A segment is named `wal-{seq:016x}-{first:016x}.log`: `seq` orders segments, `first` is the
//! index of the first record it holds (or will hold). Each record body is
//! `index: u64 LE ‖ payload`; indexes are contiguous across segments.

use std::path::{Path, PathBuf};

use super::fs::DurableFs;
use super::record::{self, ScanEnd};
use crate::kv::KvError;

/// One segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Order among segments.
    pub seq: u64,
    /// Index of its first record.
    pub first: u64,
}

impl Segment {
    /// The file name.
    pub fn name(&self) -> String {
        format!("wal-{:016x}-{:016x}.log", self.seq, self.first)
    }

    /// Parses a file name made by [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Segment> {
        let rest = name.strip_prefix("wal-")?.strip_suffix(".log")?;
        let (seq, first) = rest.split_once('-')?;
        Some(Segment { seq: u64::from_str_radix(seq, 16).ok()?, first: u64::from_str_radix(first, 16).ok()? })
    }

    /// Its path in `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.name())
    }
}

/// The segments in `dir`, in order.
pub(crate) fn list(fs: &dyn DurableFs, dir: &Path) -> Result<Vec<Segment>, KvError> {
    let names = fs.list(dir).map_err(|e| storage("list wal directory", e))?;
    let mut segs: Vec<Segment> = names.iter().filter_map(|n| Segment::parse(n)).collect();
    segs.sort_by_key(|s| s.seq);
    Ok(segs)
}

/// Maps an I/O error to [`KvError::Storage`].
pub(crate) fn storage(op: &'static str, e: std::io::Error) -> KvError {
    KvError::Storage { op, message: e.to_string() }
}

fn corrupt(dir: &Path, seg: &Segment, offset: u64, reason: impl Into<String>) -> KvError {
    KvError::Corrupt { file: seg.path(dir).display().to_string(), offset, reason: reason.into() }
}

/// Where the log ends after recovery, for the writer to continue from.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Segments found, in order.
    pub segments: Vec<Segment>,
    /// Length in bytes of the last segment after repair.
    pub last_len: u64,
    /// Index of the next record to write.
    pub next_index: u64,
    /// Whether the writer continues in the last segment (else it starts a new one).
    pub append_to_last: bool,
}

/// Replays every good record with index `> after` through `apply`, in order.
///
/// A torn tail of the last segment is cut off (the file is truncated there) and never replayed.
///
/// # Errors
/// `Corrupt` for a bad record in a non-last segment, damage followed by good records, a gap in
/// the indexes, a log that starts after `after + 1`, or a record `apply` rejects (with its
/// reason); `Storage` for I/O errors.
pub(crate) fn recover(
    fs: &dyn DurableFs,
    dir: &Path,
    after: u64,
    mut apply: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<Recovered, KvError> {
    let segments = list(fs, dir)?;
    let mut expected: Option<u64> = None;
    let mut last_len = 0;
    for (i, seg) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let buf = fs.read(&seg.path(dir)).map_err(|e| storage("read wal segment", e))?;
        let scan = record::scan(&buf);
        let mut end = buf.len() as u64;
        match scan.end {
            ScanEnd::Clean => {}
            ScanEnd::Torn { offset, .. } if is_last => {
                fs.truncate(&seg.path(dir), offset).map_err(|e| storage("truncate torn wal tail", e))?;
                end = offset;
            }
            ScanEnd::Torn { offset, reason } | ScanEnd::Corrupt { offset, reason } => {
                return Err(corrupt(dir, seg, offset, reason));
            }
        }
        if expected.is_none() {
            expected = Some(seg.first);
        }
        if expected != Some(seg.first) {
            return Err(corrupt(
                dir,
                seg,
                0,
                format!("segment starts at index {} but {expected:?} was next", seg.first),
            ));
        }
        for (offset, body) in scan.frames {
            let (Some(idx), Some(payload)) = (body.get(..8), body.get(8..)) else {
                return Err(corrupt(dir, seg, offset, "record too short for its index"));
            };
            let index = u64::from_le_bytes([idx[0], idx[1], idx[2], idx[3], idx[4], idx[5], idx[6], idx[7]]);
            if Some(index) != expected {
                return Err(corrupt(dir, seg, offset, format!("record index {index}, expected {expected:?}")));
            }
            expected = Some(index + 1);
            if index > after {
                apply(index, payload).map_err(|reason| corrupt(dir, seg, offset, reason))?;
            }
        }
        last_len = end;
    }
    if let Some(first) = segments.first()
        && first.first > after + 1
    {
        return Err(corrupt(
            dir,
            first,
            0,
            format!("log starts at index {} but the snapshot ends at {after}", first.first),
        ));
    }
    match expected {
        Some(next) if next > after => Ok(Recovered { segments, last_len, next_index: next, append_to_last: true }),
        // No log, or every record is covered by the snapshot: continue in a fresh segment.
        _ => Ok(Recovered { segments, last_len, next_index: after + 1, append_to_last: false }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        let s = Segment { seq: 3, first: 0x1234 };
        assert_eq!(Segment::parse(&s.name()), Some(s));
        assert_eq!(Segment::parse("snap-1.snap"), None);
        assert_eq!(Segment::parse("wal-zz-1.log"), None);
    }
}
