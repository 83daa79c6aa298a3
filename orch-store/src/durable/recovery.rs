//! Recovery at open: the newest intact snapshot, then replay of the log after it.

use std::path::Path;

use orch_core::Timestamp;

use super::codec::WalEntry;
use super::fs::DurableFs;
use super::segment::{self, Recovered};
use super::snapshot;
use crate::kv::KvError;
use crate::mvcc::{LeaseInfo, MvccConfig, MvccCore};

/// The state rebuilt from disk and where the log continues.
pub(crate) struct Restored {
    /// The MVCC core after replay.
    pub core: MvccCore,
    /// Index of the log record the loaded snapshot ends at (0: none).
    pub snapshot_index: u64,
    /// Where the log writer continues.
    pub log: Recovered,
}

/// Applies one log entry to the core (live writes were validated, so replay must succeed).
pub(crate) fn apply_entry(core: &mut MvccCore, entry: WalEntry, now: Timestamp) -> Result<(), KvError> {
    match entry {
        WalEntry::Write(w) => core.apply(w).map(drop),
        WalEntry::LeaseGrant { id, ttl } => core.lease_grant(id, ttl, now).map(drop),
        WalEntry::Compact { revision } => match core.compact(revision) {
            // A restored snapshot is already compacted at its own revision.
            Err(KvError::Compacted { .. }) => Ok(()),
            other => other,
        },
    }
}

/// Loads the newest intact snapshot in `dir` and replays the log after it.
///
/// # Errors
/// `Corrupt` for damaged data before the log's tail, a snapshot that does not connect to the
/// log, or a record that does not replay; `Storage` for I/O errors.
pub(crate) fn restore(fs: &dyn DurableFs, dir: &Path, config: MvccConfig, now: Timestamp) -> Result<Restored, KvError> {
    fs.create_dir_all(dir).map_err(|e| segment::storage("create data directory", e))?;
    let (mut core, snapshot_index) = match snapshot::load_newest(fs, dir)? {
        Some(snap) => {
            let leases = snap.leases.iter().map(|&(id, ttl)| LeaseInfo { id, ttl, deadline: now + ttl });
            let core = MvccCore::restore(config, snap.revision, snap.kvs, leases).map_err(|e| KvError::Corrupt {
                file: dir.display().to_string(),
                offset: 0,
                reason: format!("snapshot at record {} does not restore: {e}", snap.index),
            })?;
            (core, snap.index)
        }
        None => (MvccCore::new(config), 0),
    };
    let log = segment::recover(fs, dir, snapshot_index, |index, payload| {
        let entry = WalEntry::decode(payload).map_err(|e| format!("record {index} does not decode: {e}"))?;
        apply_entry(&mut core, entry, now).map_err(|e| format!("record {index} does not replay: {e}"))
    })?;
    Ok(Restored { core, snapshot_index, log })
}
