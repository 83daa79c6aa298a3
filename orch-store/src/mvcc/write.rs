//! Writes of the MVCC core: validation first (all or nothing), then put, delete, txn and lease
//! revoke applied at one new revision.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::core::invalid;
use super::record::{ByKey, Meta, Record, index_range, probe};
use super::{Applied, Change, MvccCore, WriteRequest, WriteResponse};
use crate::kv::{
    Compare, CompareOp, CompareTarget, DeleteResponse, KeyRange, KvError, PutRequest, PutResponse, RangeRequest, TxnOp,
    TxnOpResponse, TxnRequest, TxnResponse,
};

impl MvccCore {
    /// Applies a write. Everything is validated before anything changes: on `Err` the state is
    /// untouched. All changes share one new revision; a request that changes nothing (a delete
    /// of a missing key, a txn branch without writes) creates no revision.
    ///
    /// # Errors
    /// `InvalidRequest` (empty key, negative limit, duplicate key in a txn), `TooLarge` (value
    /// over [`MvccConfig::max_value_size`](super::MvccConfig::max_value_size)), `LeaseNotFound`,
    /// and for reads inside a txn `Compacted` / `FutureRevision`.
    ///
    /// ```
    /// use orch_store::kv::{Compare, CompareOp, DeleteRequest, PutRequest, TxnOp, TxnRequest};
    /// use orch_store::mvcc::{MvccConfig, MvccCore, WriteRequest};
    /// let mut core = MvccCore::new(MvccConfig::default());
    /// let txn = TxnRequest {
    ///     compare: vec![Compare::create_revision("a", CompareOp::Equal, 0)],
    ///     success: vec![TxnOp::Put(PutRequest::new("a", "1")), TxnOp::Put(PutRequest::new("b", "2"))],
    ///     failure: vec![],
    /// };
    /// let applied = core.apply(WriteRequest::Txn(txn))?;
    /// assert_eq!((applied.revision, applied.changes.len()), (2, 2)); // one revision for both
    /// let noop = core.apply(DeleteRequest::key("missing").into())?;
    /// assert_eq!((noop.revision, noop.changes.len()), (2, 0)); // no revision for a no-op
    /// # Ok::<(), orch_store::kv::KvError>(())
    /// ```
    pub fn apply(&mut self, req: WriteRequest) -> Result<Applied, KvError> {
        let rev = self.revision + 1;
        let mut changes = Vec::new();
        let response = match req {
            WriteRequest::Put(p) => {
                self.check_put(&p)?;
                self.check_lease(&p)?;
                WriteResponse::Put(self.do_put(&p, rev, &mut changes))
            }
            WriteRequest::Delete(d) => {
                check_range_key(&d.range)?;
                WriteResponse::Delete(self.do_delete(&d.range, d.prev_kv, rev, &mut changes))
            }
            WriteRequest::Txn(t) => WriteResponse::Txn(self.txn(t, rev, &mut changes)?),
            WriteRequest::LeaseRevoke { id } => {
                let keys = self.leases.remove(id)?;
                for key in keys {
                    self.do_delete(&KeyRange::key(key), false, rev, &mut changes);
                }
                WriteResponse::LeaseRevoke { revision: rev }
            }
        };
        if !changes.is_empty() {
            self.revision = rev;
        }
        let response = with_revision(response, self.revision);
        Ok(Applied { revision: self.revision, response, changes })
    }

    fn check_put(&self, p: &PutRequest) -> Result<(), KvError> {
        if p.key.is_empty() {
            return Err(invalid("put key must not be empty"));
        }
        if p.value.len() > self.config.max_value_size {
            return Err(KvError::TooLarge { size: p.value.len(), limit: self.config.max_value_size });
        }
        Ok(())
    }

    fn check_lease(&self, p: &PutRequest) -> Result<(), KvError> {
        if p.lease != 0 && !self.leases.contains(p.lease) {
            return Err(KvError::LeaseNotFound { id: p.lease });
        }
        Ok(())
    }

    fn check_read(&self, r: &RangeRequest) -> Result<(), KvError> {
        check_range_key(&r.range)?;
        if r.limit < 0 {
            return Err(invalid(format!("limit {} is negative", r.limit)));
        }
        self.read_revision(r.revision).map(|_| ())
    }

    /// Checks a txn branch without looking at the state: keys, sizes, duplicates.
    fn check_branch(&self, ops: &[TxnOp]) -> Result<(), KvError> {
        let mut puts: BTreeSet<&[u8]> = BTreeSet::new();
        let mut deletes: Vec<&KeyRange> = Vec::new();
        for op in ops {
            match op {
                TxnOp::Put(p) => {
                    self.check_put(p)?;
                    if !puts.insert(&p.key[..]) {
                        return Err(invalid(format!("duplicate key {:?} in txn", String::from_utf8_lossy(&p.key))));
                    }
                }
                TxnOp::Delete(d) => {
                    check_range_key(&d.range)?;
                    deletes.push(&d.range);
                }
                TxnOp::Range(r) => {
                    check_range_key(&r.range)?;
                    if r.limit < 0 {
                        return Err(invalid(format!("limit {} is negative", r.limit)));
                    }
                }
            }
        }
        if let Some(key) = puts.iter().find(|k| deletes.iter().any(|d| d.contains(k))) {
            return Err(invalid(format!("key {:?} is both put and deleted in txn", String::from_utf8_lossy(key))));
        }
        Ok(())
    }

    fn txn(&mut self, t: TxnRequest, rev: i64, changes: &mut Vec<Change>) -> Result<TxnResponse, KvError> {
        if t.compare.iter().any(|c| c.key.is_empty()) {
            return Err(invalid("compare key must not be empty"));
        }
        self.check_branch(&t.success)?;
        self.check_branch(&t.failure)?;
        let succeeded = t.compare.iter().all(|c| self.holds(c));
        let ops = if succeeded { t.success } else { t.failure };
        for op in &ops {
            match op {
                TxnOp::Put(p) => self.check_lease(p)?,
                TxnOp::Range(r) => self.check_read(r)?,
                TxnOp::Delete(_) => {}
            }
        }
        // From here nothing can fail. Reads inside the txn see its earlier writes, as in etcd.
        let before = self.revision;
        self.revision = rev;
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            let resp = match op {
                TxnOp::Put(p) => TxnOpResponse::Put(self.do_put(&p, rev, changes)),
                TxnOp::Delete(d) => TxnOpResponse::Delete(self.do_delete(&d.range, d.prev_kv, rev, changes)),
                TxnOp::Range(r) => match self.range(&r) {
                    Ok(resp) => TxnOpResponse::Range(resp),
                    Err(_) => TxnOpResponse::Range(Default::default()), // unreachable: checked above
                },
            };
            responses.push(resp);
        }
        self.revision = before;
        Ok(TxnResponse { succeeded, revision: rev, responses })
    }

    fn holds(&self, c: &Compare) -> bool {
        let rec = self.current.get(probe(&c.key).q()).map(|r| &r.0).filter(|r| !r.is_tombstone());
        let meta = rec.map(Record::meta).unwrap_or_default();
        let ord = match &c.target {
            // etcd: a value compare on a missing key always fails.
            CompareTarget::Value(v) => match rec {
                Some(r) => r.value().cmp(&v[..]),
                None => return false,
            },
            CompareTarget::Version(n) => meta.version.cmp(n),
            CompareTarget::CreateRevision(n) => meta.create_revision.cmp(n),
            CompareTarget::ModRevision(n) => meta.mod_revision.cmp(n),
            CompareTarget::Lease(n) => meta.lease.cmp(n),
        };
        match c.op {
            CompareOp::Equal => ord == Ordering::Equal,
            CompareOp::NotEqual => ord != Ordering::Equal,
            CompareOp::Greater => ord == Ordering::Greater,
            CompareOp::Less => ord == Ordering::Less,
        }
    }

    fn push_older(&mut self, old: Record) {
        self.older.entry(ByKey::new(old.clone())).or_default().push(old);
    }

    fn do_put(&mut self, p: &PutRequest, rev: i64, changes: &mut Vec<Change>) -> PutResponse {
        let prev = self.current.get(probe(&p.key).q()).map(|r| r.0.clone()).filter(|r| !r.is_tombstone());
        let prev_meta = prev.as_ref().map(Record::meta);
        let (create_revision, version) = prev_meta.map_or((rev, 1), |m| (m.create_revision, m.version + 1));
        let meta = Meta { mod_revision: rev, create_revision, version, lease: p.lease };
        let rec = Record::encode(&mut self.scratch, &p.key, meta, &p.value);
        if let Some(old) = self.current.replace(ByKey::new(rec.clone())) {
            self.push_older(old.0);
        }
        self.log.push_back(rec.clone());
        let old_lease = prev_meta.map_or(0, |m| m.lease);
        if old_lease != p.lease {
            self.leases.detach(old_lease, &p.key);
            self.leases.attach(p.lease, &p.key);
        }
        let prev_kv = if p.prev_kv { prev.as_ref().map(|r| r.to_key_value(false)) } else { None };
        changes.push(Change { record: rec, prev });
        PutResponse { revision: rev, prev_kv }
    }

    fn do_delete(&mut self, range: &KeyRange, want_prev: bool, rev: i64, changes: &mut Vec<Change>) -> DeleteResponse {
        let mut resp = DeleteResponse { revision: rev, ..Default::default() };
        let Some(entries) = index_range(&self.current, range) else { return resp };
        let victims: Vec<Record> = entries.filter(|r| !r.0.is_tombstone()).map(|r| r.0.clone()).collect();
        for old in victims {
            let tomb = Record::tombstone(&mut self.scratch, old.key(), rev);
            self.current.replace(ByKey::new(tomb.clone()));
            self.log.push_back(tomb.clone());
            self.leases.detach(old.meta().lease, old.key());
            if want_prev {
                resp.prev_kvs.push(old.to_key_value(false));
            }
            resp.deleted += 1;
            self.push_older(old.clone());
            changes.push(Change { record: tomb, prev: Some(old) });
        }
        resp
    }
}

fn check_range_key(range: &KeyRange) -> Result<(), KvError> {
    if range.start.is_empty() && range.end.is_empty() {
        return Err(invalid("key must not be empty"));
    }
    Ok(())
}

/// Stamps the store revision after the request on the response (and each txn op's response).
fn with_revision(resp: WriteResponse, revision: i64) -> WriteResponse {
    match resp {
        WriteResponse::Put(p) => WriteResponse::Put(PutResponse { revision, ..p }),
        WriteResponse::Delete(d) => WriteResponse::Delete(DeleteResponse { revision, ..d }),
        WriteResponse::LeaseRevoke { .. } => WriteResponse::LeaseRevoke { revision },
        WriteResponse::Txn(mut t) => {
            t.revision = revision;
            for r in &mut t.responses {
                match r {
                    TxnOpResponse::Put(p) => p.revision = revision,
                    TxnOpResponse::Delete(d) => d.revision = revision,
                    TxnOpResponse::Range(g) => g.revision = revision,
                }
            }
            WriteResponse::Txn(t)
        }
    }
}
