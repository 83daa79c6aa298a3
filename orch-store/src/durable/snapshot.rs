//! Snapshots of the full state: written to a temp file, synced, renamed into place and the
//! directory synced; loaded newest-valid-first at recovery.
//!
//! A snapshot `snap-{index:016x}.snap` holds the state after log record `index`: a header frame
//! (magic, revision, record index, counts), frames of key-values (about 1 MiB each) and one frame
//! of leases, each checksummed like log records (see [`record`](super::record)). The counts in
//! the header make a cut-short file invalid, so only a complete, intact snapshot is ever loaded.

use std::path::Path;
use std::time::Duration;

use super::codec::{Dec, DecodeError, Enc};
use super::fs::DurableFs;
use super::record::{self, ScanEnd};
use super::segment::storage;
use crate::kv::{KeyValue, KvError};

const MAGIC: &[u8; 8] = b"ORCHSNP1";
const CHUNK: usize = 1 << 20;

/// The full state at one log position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Store revision.
    pub revision: i64,
    /// Index of the last log record included.
    pub index: u64,
    /// Every live key-value.
    pub kvs: Vec<KeyValue>,
    /// Every lease: id and TTL (deadlines restart from the full TTL after recovery, as in etcd).
    pub leases: Vec<(i64, Duration)>,
}

fn file_name(index: u64) -> String {
    format!("snap-{index:016x}.snap")
}

fn parse_name(name: &str) -> Option<u64> {
    u64::from_str_radix(name.strip_prefix("snap-")?.strip_suffix(".snap")?, 16).ok()
}

impl Snapshot {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut h = Enc::default();
        h.0.extend_from_slice(MAGIC);
        h.i64(self.revision);
        h.u64(self.index);
        h.u64(self.kvs.len() as u64);
        h.u64(self.leases.len() as u64);
        record::encode(&mut out, &h.0);
        let mut chunk = Enc::default();
        for kv in &self.kvs {
            chunk.key_value(kv);
            if chunk.0.len() >= CHUNK {
                record::encode(&mut out, &std::mem::take(&mut chunk.0));
            }
        }
        if !chunk.0.is_empty() {
            record::encode(&mut out, &chunk.0);
        }
        let mut l = Enc::default();
        l.u8(0xff);
        for (id, ttl) in &self.leases {
            l.i64(*id);
            l.duration(*ttl);
        }
        record::encode(&mut out, &l.0);
        out
    }

    fn decode(buf: &[u8]) -> Result<Snapshot, (u64, DecodeError)> {
        let scan = record::scan(buf);
        if let ScanEnd::Torn { offset, reason } | ScanEnd::Corrupt { offset, reason } = scan.end {
            return Err((offset, reason.into()));
        }
        let mut frames = scan.frames.into_iter();
        let (_, header) = frames.next().ok_or((0, "empty snapshot".to_owned()))?;
        let mut h = Dec::new(header);
        let magic = header.get(..8).ok_or((0, "short header".to_owned()))?;
        if magic != MAGIC {
            return Err((0, "not a snapshot (bad magic)".into()));
        }
        let parsed = (|| {
            for _ in 0..8 {
                h.u8()?;
            }
            Ok::<_, DecodeError>((h.i64()?, h.u64()?, h.u64()?, h.u64()?))
        })();
        let (revision, index, n_kvs, n_leases) = parsed.map_err(|e| (0, e))?;
        let mut snap = Snapshot { revision, index, ..Default::default() };
        let mut last = (0, &[][..]);
        for (offset, body) in frames {
            last = (offset, body);
            if body.first() == Some(&0xff) {
                break;
            }
            let mut d = Dec::new(body);
            while !d.is_empty() {
                snap.kvs.push(d.key_value().map_err(|e| (offset, e))?);
            }
        }
        let (offset, body) = last;
        let mut d = Dec::new(body.get(1..).unwrap_or_default());
        while !d.is_empty() {
            let id = d.i64().map_err(|e| (offset, e))?;
            snap.leases.push((id, d.duration().map_err(|e| (offset, e))?));
        }
        if snap.kvs.len() as u64 != n_kvs || snap.leases.len() as u64 != n_leases || body.first() != Some(&0xff) {
            return Err((offset, "snapshot is incomplete".into()));
        }
        Ok(snap)
    }
}

/// Writes `snap` durably: temp file, sync, `before_install` (e.g. wait until the log is durable
/// up to `snap.index`), rename, directory sync; then removes older snapshots.
///
/// # Errors
/// `Storage` for I/O errors, or what `before_install` returns (then nothing is installed).
pub(crate) fn write(
    fs: &dyn DurableFs,
    dir: &Path,
    snap: &Snapshot,
    before_install: impl FnOnce() -> Result<(), KvError>,
) -> Result<(), KvError> {
    let tmp = dir.join(format!("{}.tmp", file_name(snap.index)));
    let mut f = fs.create(&tmp).map_err(|e| storage("create snapshot", e))?;
    f.write_all(&snap.encode()).map_err(|e| storage("write snapshot", e))?;
    f.sync_data().map_err(|e| storage("sync snapshot", e))?;
    drop(f);
    before_install()?;
    fs.rename(&tmp, &dir.join(file_name(snap.index))).map_err(|e| storage("install snapshot", e))?;
    fs.sync_dir(dir).map_err(|e| storage("sync snapshot directory", e))?;
    for name in fs.list(dir).map_err(|e| storage("list snapshots", e))? {
        let stale = parse_name(&name).is_some_and(|i| i < snap.index) || name.ends_with(".snap.tmp");
        if stale {
            fs.remove(&dir.join(&name)).map_err(|e| storage("remove old snapshot", e))?;
        }
    }
    Ok(())
}

/// The newest snapshot that is intact, if any; damaged ones are skipped (the log's index checks
/// then tell whether an older one still connects to the log).
///
/// # Errors
/// `Storage` for I/O errors.
pub(crate) fn load_newest(fs: &dyn DurableFs, dir: &Path) -> Result<Option<Snapshot>, KvError> {
    let mut found: Vec<u64> =
        fs.list(dir).map_err(|e| storage("list snapshots", e))?.iter().filter_map(|n| parse_name(n)).collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    for index in found {
        let buf = fs.read(&dir.join(file_name(index))).map_err(|e| storage("read snapshot", e))?;
        if let Ok(snap) = Snapshot::decode(&buf)
            && snap.index == index
        {
            return Ok(Some(snap));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::FaultyFs;

    fn sample(n: usize) -> Snapshot {
        let kvs = (0..n)
            .map(|i| KeyValue {
                key: format!("k{i:05}").into(),
                value: vec![7; 3000].into(),
                create_revision: 2,
                mod_revision: 3,
                version: 1,
                lease: 0,
            })
            .collect();
        Snapshot { revision: 9, index: 12, kvs, leases: vec![(4, Duration::from_millis(2500))] }
    }

    #[test]
    fn roundtrip_and_damage_is_rejected() {
        let snap = sample(1000);
        let buf = snap.encode();
        assert_eq!(Snapshot::decode(&buf), Ok(snap));
        assert!(Snapshot::decode(&buf[..buf.len() - 1]).is_err());
        let mut bad = buf.clone();
        bad[buf.len() / 2] ^= 1;
        assert!(Snapshot::decode(&bad).is_err());
    }

    #[test]
    fn newest_intact_snapshot_wins() {
        let fs = FaultyFs::new();
        let dir = Path::new("/s");
        let mut a = sample(3);
        a.index = 5;
        write(&fs, dir, &a, || Ok(())).unwrap();
        assert_eq!(load_newest(&fs, dir).unwrap(), Some(a.clone()));
        let b = sample(4);
        write(&fs, dir, &b, || Ok(())).unwrap();
        assert_eq!(fs.list(dir).unwrap(), vec![file_name(12)]);
        fs.corrupt(&dir.join(file_name(12)), 20, b"xx").unwrap();
        assert_eq!(load_newest(&fs, dir).unwrap(), None);
    }
}
