//! `MvccCore`: the state (current versions, history, revision log, leases) and its reads.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::time::Duration;

use orch_core::Timestamp;

use super::lease::{LeaseInfo, LeaseTable};
use super::record::{ByKey, Record, index_range, probe};
use super::{Change, MvccConfig};
use crate::kv::{KeyRange, KeyValue, KvError, LeaseGrant, RangeRequest, RangeResponse};

/// A single-threaded MVCC state machine with etcd v3 semantics and no I/O: the heart of every
/// embedded backend (`MemKv` wraps it in a lock; a durable backend adds a log and snapshots).
///
/// # Model
/// The store starts at revision 1 with no keys, like a fresh etcd. Each write request that
/// changes something creates exactly one new revision shared by all its changes; a key's
/// `create_revision` is the revision that created it, `mod_revision` the last that wrote it,
/// `version` counts writes since creation. Past versions stay readable (range at a revision,
/// watch catch-up) until [`compact`](MvccCore::compact) drops those superseded before the
/// compaction revision.
///
/// ```
/// use orch_store::kv::{DeleteRequest, KvError, PutRequest, RangeRequest};
/// use orch_store::mvcc::{MvccConfig, MvccCore};
///
/// let mut core = MvccCore::new(MvccConfig::default());
/// assert_eq!(core.revision(), 1);
/// core.apply(PutRequest::new("a", "1").into())?; // revision 2
/// core.apply(PutRequest::new("a", "2").into())?; // revision 3
/// core.apply(DeleteRequest::key("a").into())?; // revision 4
/// let at3 = core.range(&RangeRequest::key("a").at_revision(3))?;
/// assert_eq!((&at3.kvs[0].value[..], at3.kvs[0].version, at3.kvs[0].create_revision), (&b"2"[..], 2, 2));
/// assert_eq!(core.range(&RangeRequest::key("a"))?.count, 0);
///
/// core.compact(3)?; // revision 2's version of "a" is gone; 3's stays readable
/// assert!(matches!(core.range(&RangeRequest::key("a").at_revision(2)), Err(KvError::Compacted { .. })));
/// assert_eq!(core.range(&RangeRequest::key("a").at_revision(3))?.count, 1);
/// # Ok::<(), KvError>(())
/// ```
#[derive(Debug)]
pub struct MvccCore {
    pub(crate) config: MvccConfig,
    pub(crate) revision: i64,
    pub(crate) compacted: i64,
    /// The latest version of every key, tombstones included until compaction removes them.
    pub(crate) current: BTreeSet<ByKey>,
    /// Superseded versions still in history, oldest first, for keys that have any.
    pub(crate) older: BTreeMap<ByKey, Vec<Record>>,
    /// Every version written at or after the compaction revision, in revision order.
    pub(crate) log: VecDeque<Record>,
    pub(crate) leases: LeaseTable,
    pub(crate) scratch: Vec<u8>,
}

/// Changes read back from history for a watcher catching up: whole revisions only.
#[derive(Clone, Debug, Default)]
pub struct ChangeBatch {
    /// The changes, in revision order.
    pub changes: Vec<Change>,
    /// The first revision not yet scanned (resume from here).
    pub next_revision: i64,
}

pub(crate) fn invalid(reason: impl Into<String>) -> KvError {
    KvError::InvalidRequest { reason: reason.into() }
}

/// Lower and upper bounds of keys.
pub(crate) type KeyBounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// The index bounds of a key range, or `None` for an empty range.
pub(crate) fn bounds(range: &KeyRange) -> Option<KeyBounds<'_>> {
    let start = Bound::Included(&range.start[..]);
    if range.end.is_empty() {
        Some((start, Bound::Included(&range.start[..])))
    } else if &range.end[..] == b"\0" {
        Some((start, Bound::Unbounded))
    } else if range.start < range.end {
        Some((start, Bound::Excluded(&range.end[..])))
    } else {
        None
    }
}

impl MvccCore {
    /// An empty store at revision 1.
    pub fn new(config: MvccConfig) -> Self {
        MvccCore {
            config,
            revision: 1,
            compacted: 0,
            current: BTreeSet::new(),
            older: BTreeMap::new(),
            log: VecDeque::new(),
            leases: LeaseTable::default(),
            scratch: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &MvccConfig {
        &self.config
    }

    /// The current revision (of the last write).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The compaction revision: reads and watches below it fail with `Compacted`.
    pub fn compact_revision(&self) -> i64 {
        self.compacted
    }

    /// Number of versions kept in history (the revision log's length), a measure of its memory.
    pub fn history_len(&self) -> usize {
        self.log.len()
    }

    /// Checks a read revision: 0 means the current one.
    pub(crate) fn read_revision(&self, revision: i64) -> Result<i64, KvError> {
        match revision {
            0 => Ok(self.revision),
            r if r < 0 => Err(invalid(format!("revision {r} is negative"))),
            r if r < self.compacted => Err(KvError::Compacted { requested: r, compacted: self.compacted }),
            r if r > self.revision => Err(KvError::FutureRevision { requested: r, current: self.revision }),
            r => Ok(r),
        }
    }

    /// The version of `latest`'s key visible at `rev` (maybe a tombstone), if history has it.
    pub(crate) fn version_at<'a>(&'a self, latest: &'a Record, rev: i64) -> Option<&'a Record> {
        if latest.mod_revision() <= rev {
            return Some(latest);
        }
        let older = self.older.get(probe(latest.key()).q())?;
        let n = older.partition_point(|r| r.mod_revision() <= rev);
        n.checked_sub(1).and_then(|i| older.get(i))
    }

    /// The live version of `key` before revision `rev`, if any (for `prev_kv`).
    pub(crate) fn live_before(&self, key: &[u8], rev: i64) -> Option<Record> {
        let latest = &self.current.get(probe(key).q())?.0;
        self.version_at(latest, rev - 1).filter(|r| !r.is_tombstone()).cloned()
    }

    /// Reads a key or range, at a revision (0: the current one).
    ///
    /// # Errors
    /// `Compacted` below the compaction revision, `FutureRevision` above the current one,
    /// `InvalidRequest` for an empty key, a negative limit or a negative revision.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse, KvError> {
        if req.range.start.is_empty() && req.range.end.is_empty() {
            return Err(invalid("range key must not be empty"));
        }
        if req.limit < 0 {
            return Err(invalid(format!("limit {} is negative", req.limit)));
        }
        let rev = self.read_revision(req.revision)?;
        let mut resp = RangeResponse { revision: self.revision, ..Default::default() };
        let Some(entries) = index_range(&self.current, &req.range) else { return Ok(resp) };
        let limit = if req.limit == 0 || req.count_only { usize::MAX } else { req.limit as usize };
        for latest in entries {
            let Some(rec) = self.version_at(&latest.0, rev) else { continue };
            if rec.is_tombstone() {
                continue;
            }
            resp.count += 1;
            if !req.count_only && resp.kvs.len() < limit {
                resp.kvs.push(rec.to_key_value(req.keys_only));
            }
        }
        resp.more = !req.count_only && (resp.kvs.len() as i64) < resp.count;
        Ok(resp)
    }

    /// The changes of revisions `from..=to` to keys in `range`, for a watcher catching up.
    ///
    /// Stops after a whole revision once `max_events` changes are collected or `max_scan` log
    /// entries were looked at, so callers can hold locks briefly; resume at `next_revision`.
    ///
    /// # Errors
    /// `Compacted` when `from` is below the compaction revision.
    pub fn changes(
        &self,
        range: &KeyRange,
        from: i64,
        to: i64,
        with_prev: bool,
        max_events: usize,
        max_scan: usize,
    ) -> Result<ChangeBatch, KvError> {
        if from < self.compacted {
            return Err(KvError::Compacted { requested: from, compacted: self.compacted });
        }
        let to = to.min(self.revision);
        let mut batch = ChangeBatch { changes: Vec::new(), next_revision: from };
        let start = self.log.partition_point(|r| r.mod_revision() < from);
        for (scanned, rec) in self.log.range(start..).enumerate() {
            let rev = rec.mod_revision();
            if rev > to {
                break;
            }
            if rev >= batch.next_revision && (batch.changes.len() >= max_events || scanned >= max_scan) {
                return Ok(batch);
            }
            batch.next_revision = rev + 1;
            if range.contains(rec.key()) {
                let prev = if with_prev { self.live_before(rec.key(), rev) } else { None };
                batch.changes.push(Change { record: rec.clone(), prev });
            }
        }
        batch.next_revision = batch.next_revision.max(to + 1);
        Ok(batch)
    }

    /// Every live key-value at the current revision, in key order (for snapshots).
    pub fn snapshot(&self) -> impl Iterator<Item = KeyValue> + '_ {
        self.current.iter().filter(|r| !r.0.is_tombstone()).map(|r| r.0.to_key_value(false))
    }

    /// Grants a lease (`id` 0: the store picks one) expiring `ttl` after `now`.
    ///
    /// # Errors
    /// `InvalidRequest` for a zero TTL, a negative id or an id already in use.
    pub fn lease_grant(&mut self, id: i64, ttl: Duration, now: Timestamp) -> Result<LeaseGrant, KvError> {
        self.leases.grant(id, ttl, now)
    }

    /// Renews a lease to its full TTL from `now`; returns the TTL in seconds.
    ///
    /// # Errors
    /// `LeaseNotFound`.
    pub fn lease_keep_alive(&mut self, id: i64, now: Timestamp) -> Result<i64, KvError> {
        self.leases.keep_alive(id, now)
    }

    /// Leases whose deadline is at or before `now` (revoke them with `WriteRequest::LeaseRevoke`).
    pub fn expired_leases(&self, now: Timestamp) -> Vec<i64> {
        self.leases.expired(now)
    }

    /// The earliest lease deadline, if any lease exists.
    pub fn next_lease_deadline(&self) -> Option<Timestamp> {
        self.leases.next_deadline()
    }

    /// One lease.
    pub fn lease(&self, id: i64) -> Option<LeaseInfo> {
        self.leases.get(id)
    }

    /// Every lease, by id.
    pub fn leases(&self) -> impl Iterator<Item = LeaseInfo> + '_ {
        self.leases.iter()
    }
}
