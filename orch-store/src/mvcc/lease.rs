//! `LeaseTable`: leases with their TTL, expiry deadline and attached keys.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use orch_core::Timestamp;

use crate::kv::{KvError, LeaseGrant};

/// A lease as kept by the store (what a snapshot saves and a restore takes back).
///
/// ```
/// use std::time::Duration;
/// use orch_core::Timestamp;
/// use orch_store::mvcc::LeaseInfo;
/// let l = LeaseInfo { id: 7, ttl: Duration::from_secs(10), deadline: Timestamp::from_unix(100, 0) };
/// assert_eq!(l.ttl_seconds(), 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseInfo {
    /// Lease id (positive).
    pub id: i64,
    /// Time to live granted.
    pub ttl: Duration,
    /// When it expires unless kept alive.
    pub deadline: Timestamp,
}

impl LeaseInfo {
    /// The TTL in whole seconds, rounded up (what etcd's API reports).
    pub fn ttl_seconds(&self) -> i64 {
        ttl_seconds(self.ttl)
    }
}

pub(crate) fn ttl_seconds(ttl: Duration) -> i64 {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    deadline: Timestamp,
    keys: BTreeSet<Bytes>,
}

/// Every live lease, indexed by id and by deadline.
#[derive(Debug)]
pub(crate) struct LeaseTable {
    leases: BTreeMap<i64, Lease>,
    by_deadline: BTreeSet<(Timestamp, i64)>,
    next_id: i64,
}

impl Default for LeaseTable {
    fn default() -> Self {
        LeaseTable { leases: BTreeMap::new(), by_deadline: BTreeSet::new(), next_id: 1 }
    }
}

impl LeaseTable {
    /// Grants a lease; `id` 0 picks the next free id.
    pub fn grant(&mut self, id: i64, ttl: Duration, now: Timestamp) -> Result<LeaseGrant, KvError> {
        if ttl.is_zero() {
            return Err(KvError::InvalidRequest { reason: "lease TTL must be positive".into() });
        }
        let id = match id {
            0 => self.free_id(),
            id if id < 0 => return Err(KvError::InvalidRequest { reason: format!("lease id {id} is negative") }),
            id if self.leases.contains_key(&id) => {
                return Err(KvError::InvalidRequest { reason: format!("lease {id} already exists") });
            }
            id => id,
        };
        let deadline = now + ttl;
        self.leases.insert(id, Lease { ttl, deadline, keys: BTreeSet::new() });
        self.by_deadline.insert((deadline, id));
        Ok(LeaseGrant { id, ttl: ttl_seconds(ttl) })
    }

    fn free_id(&mut self) -> i64 {
        while self.leases.contains_key(&self.next_id) {
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        }
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Renews a lease to its full TTL from `now`; returns the TTL in seconds.
    pub fn keep_alive(&mut self, id: i64, now: Timestamp) -> Result<i64, KvError> {
        let lease = self.leases.get_mut(&id).ok_or(KvError::LeaseNotFound { id })?;
        self.by_deadline.remove(&(lease.deadline, id));
        lease.deadline = now + lease.ttl;
        self.by_deadline.insert((lease.deadline, id));
        Ok(ttl_seconds(lease.ttl))
    }

    /// Removes a lease, returning its attached keys.
    pub fn remove(&mut self, id: i64) -> Result<BTreeSet<Bytes>, KvError> {
        let lease = self.leases.remove(&id).ok_or(KvError::LeaseNotFound { id })?;
        self.by_deadline.remove(&(lease.deadline, id));
        Ok(lease.keys)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    pub fn attach(&mut self, id: i64, key: &[u8]) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.insert(Bytes::copy_from_slice(key));
        }
    }

    pub fn detach(&mut self, id: i64, key: &[u8]) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.remove(key);
        }
    }

    /// Ids of leases whose deadline is at or before `now`, earliest first.
    pub fn expired(&self, now: Timestamp) -> Vec<i64> {
        self.by_deadline.iter().take_while(|(t, _)| *t <= now).map(|(_, id)| *id).collect()
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.by_deadline.first().map(|(t, _)| *t)
    }

    pub fn get(&self, id: i64) -> Option<LeaseInfo> {
        self.leases.get(&id).map(|l| LeaseInfo { id, ttl: l.ttl, deadline: l.deadline })
    }

    pub fn iter(&self) -> impl Iterator<Item = LeaseInfo> + '_ {
        self.leases.iter().map(|(id, l)| LeaseInfo { id: *id, ttl: l.ttl, deadline: l.deadline })
    }

    /// Adds a lease as it was saved (for restore).
    pub fn restore(&mut self, info: LeaseInfo) -> Result<(), KvError> {
        if info.id <= 0 || info.ttl.is_zero() || self.leases.contains_key(&info.id) {
            return Err(KvError::InvalidRequest { reason: format!("bad or duplicate lease {} in snapshot", info.id) });
        }
        self.leases.insert(info.id, Lease { ttl: info.ttl, deadline: info.deadline, keys: BTreeSet::new() });
        self.by_deadline.insert((info.deadline, info.id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix(secs, 0)
    }

    #[test]
    fn grant_picks_free_ids_and_rejects_bad_requests() {
        let mut table = LeaseTable::default();
        assert_eq!(table.grant(1, Duration::from_secs(5), t(0)).map(|g| g.id), Ok(1));
        assert_eq!(table.grant(0, Duration::from_secs(5), t(0)).map(|g| g.id), Ok(2));
        for (id, ttl) in [(1, 5), (-3, 5), (9, 0)] {
            let r = table.grant(id, Duration::from_secs(ttl), t(0));
            assert!(matches!(r, Err(KvError::InvalidRequest { .. })), "id {id} ttl {ttl}: {r:?}");
        }
    }

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        let mut table = LeaseTable::default();
        assert_eq!(table.grant(0, Duration::from_millis(300), t(0)).map(|g| g.ttl), Ok(1));
        assert_eq!(table.grant(0, Duration::from_millis(2000), t(0)).map(|g| g.ttl), Ok(2));
    }

    #[test]
    fn keep_alive_moves_the_deadline() {
        let mut table = LeaseTable::default();
        let id = table.grant(0, Duration::from_secs(10), t(0)).map(|g| g.id).unwrap_or_default();
        assert_eq!(table.expired(t(10)), vec![id]);
        assert_eq!(table.keep_alive(id, t(8)), Ok(10));
        assert!(table.expired(t(10)).is_empty());
        assert_eq!(table.next_deadline(), Some(t(18)));
        assert_eq!(table.keep_alive(99, t(8)), Err(KvError::LeaseNotFound { id: 99 }));
    }

    #[test]
    fn remove_returns_attached_keys() {
        let mut table = LeaseTable::default();
        table.grant(4, Duration::from_secs(1), t(0)).ok();
        table.attach(4, b"a");
        table.attach(4, b"b");
        table.detach(4, b"a");
        assert_eq!(table.remove(4).map(|k| k.into_iter().collect::<Vec<_>>()), Ok(vec![Bytes::from("b")]));
        assert_eq!(table.remove(4), Err(KvError::LeaseNotFound { id: 4 }));
        assert_eq!(table.next_deadline(), None);
    }
}
