//! Compaction: dropping history that no read at or after the compaction revision can see.

use super::MvccConfig;
use super::MvccCore;
use super::core::invalid;
use super::lease::LeaseInfo;
use super::record::{ByKey, Meta, Record, probe};
use crate::kv::{KeyValue, KvError};

impl MvccCore {
    /// Drops every version superseded at or before `revision`: afterwards reads and watches at
    /// `revision` or later work exactly as before, those below fail with `Compacted`.
    ///
    /// Work is proportional to the history dropped (the revision log is walked from its start).
    ///
    /// # Errors
    /// `Compacted` if `revision` is not above the current compaction revision,
    /// `FutureRevision` if it is above the current revision.
    ///
    /// ```
    /// use orch_store::kv::{KvError, PutRequest};
    /// use orch_store::mvcc::{MvccConfig, MvccCore};
    /// let mut core = MvccCore::new(MvccConfig::default());
    /// for v in ["1", "2", "3"] {
    ///     core.apply(PutRequest::new("k", v).into())?; // revisions 2, 3, 4
    /// }
    /// assert_eq!(core.history_len(), 3);
    /// core.compact(4)?;
    /// assert_eq!((core.compact_revision(), core.history_len()), (4, 1));
    /// assert!(matches!(core.compact(3), Err(KvError::Compacted { requested: 3, compacted: 4 })));
    /// # Ok::<(), KvError>(())
    /// ```
    pub fn compact(&mut self, revision: i64) -> Result<(), KvError> {
        if revision <= self.compacted {
            return Err(KvError::Compacted { requested: revision, compacted: self.compacted });
        }
        if revision > self.revision {
            return Err(KvError::FutureRevision { requested: revision, current: self.revision });
        }
        while self.log.front().is_some_and(|r| r.mod_revision() < revision) {
            if let Some(rec) = self.log.pop_front() {
                self.trim(&rec, revision);
            }
        }
        self.compacted = revision;
        Ok(())
    }

    /// Keeps of `rec`'s key's versions only those visible at `revision` or later; `rec` is a
    /// version leaving the log.
    fn trim(&mut self, rec: &Record, revision: i64) {
        let key = probe(rec.key());
        let Some(older) = self.older.get_mut(key.q()) else {
            // No superseded versions: `rec` is the latest version or already gone. Only a
            // tombstone that is still the latest has anything left to drop.
            if rec.is_tombstone() && self.current.get(key.q()).is_some_and(|l| l.0.mod_revision() == rec.mod_revision())
            {
                self.current.remove(key.q());
            }
            return;
        };
        let Some(latest) = self.current.get(key.q()).map(|r| r.0.clone()) else { return };
        // Versions at or before `revision`: the last of them is what a read at `revision`
        // sees (kept unless it is a tombstone or the latest version supersedes it).
        let upto = older.partition_point(|r| r.mod_revision() <= revision);
        let keep_from = if latest.mod_revision() <= revision {
            older.len()
        } else {
            match upto.checked_sub(1).and_then(|i| older.get(i)) {
                Some(r) if !r.is_tombstone() => upto - 1,
                _ => upto,
            }
        };
        older.drain(..keep_from);
        if older.is_empty() {
            self.older.remove(key.q());
        }
        if latest.mod_revision() <= revision && latest.is_tombstone() {
            self.current.remove(key.q());
        }
    }

    /// Rebuilds a store from a snapshot: the revision it was taken at, every live key-value and
    /// every lease. History before `revision` is not part of a snapshot, so the result is
    /// compacted at `revision`.
    ///
    /// # Errors
    /// `InvalidRequest` if the snapshot is inconsistent (empty or duplicate key, a revision
    /// after `revision`, an unknown lease, a bad lease).
    ///
    /// ```
    /// use orch_store::kv::{PutRequest, RangeRequest};
    /// use orch_store::mvcc::{MvccConfig, MvccCore};
    /// let mut core = MvccCore::new(MvccConfig::default());
    /// core.apply(PutRequest::new("a", "1").into())?;
    /// core.apply(PutRequest::new("a", "2").into())?;
    /// let copy = MvccCore::restore(MvccConfig::default(), core.revision(), core.snapshot(), core.leases())?;
    /// assert_eq!(copy.revision(), 3);
    /// assert_eq!(copy.range(&RangeRequest::key("a"))?.kvs, core.range(&RangeRequest::key("a"))?.kvs);
    /// # Ok::<(), orch_store::kv::KvError>(())
    /// ```
    pub fn restore(
        config: MvccConfig,
        revision: i64,
        kvs: impl IntoIterator<Item = KeyValue>,
        leases: impl IntoIterator<Item = LeaseInfo>,
    ) -> Result<MvccCore, KvError> {
        let mut core = MvccCore::new(config);
        if revision < 1 {
            return Err(invalid(format!("snapshot revision {revision} must be at least 1")));
        }
        core.revision = revision;
        core.compacted = revision;
        for lease in leases {
            core.leases.restore(lease)?;
        }
        for kv in kvs {
            let bad = kv.key.is_empty()
                || kv.version < 1
                || kv.create_revision < 1
                || kv.create_revision > kv.mod_revision
                || kv.mod_revision > revision;
            if bad {
                return Err(invalid(format!("snapshot entry {:?} is inconsistent", String::from_utf8_lossy(&kv.key))));
            }
            if kv.lease != 0 && !core.leases.contains(kv.lease) {
                return Err(KvError::LeaseNotFound { id: kv.lease });
            }
            let meta = Meta {
                mod_revision: kv.mod_revision,
                create_revision: kv.create_revision,
                version: kv.version,
                lease: kv.lease,
            };
            let rec = Record::encode(&mut core.scratch, &kv.key, meta, &kv.value);
            if !core.current.insert(ByKey::new(rec)) {
                return Err(invalid(format!("snapshot has key {:?} twice", String::from_utf8_lossy(&kv.key))));
            }
            core.leases.attach(kv.lease, &kv.key);
        }
        Ok(core)
    }
}
