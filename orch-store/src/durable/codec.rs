//! Binary encoding of log entries and snapshot items: length-prefixed bytes and fixed-width
//! integers, decoded without panicking on any input (damage is reported, not trusted).

use std::time::Duration;

use bytes::Bytes;

use crate::kv::{
    Compare, CompareOp, CompareTarget, DeleteRequest, KeyRange, KeyValue, PutRequest, RangeRequest, TxnOp, TxnRequest,
};
use crate::mvcc::WriteRequest;

/// One log entry: a write the MVCC core applies, or a change of lease table or history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WalEntry {
    /// A put, delete, txn or lease revoke, replayed with `MvccCore::apply`.
    Write(WriteRequest),
    /// A lease granted (with the id the store chose).
    LeaseGrant {
        /// Lease id.
        id: i64,
        /// Time to live.
        ttl: Duration,
    },
    /// History before `revision` dropped.
    Compact {
        /// The compaction revision.
        revision: i64,
    },
}

/// Builds an encoding.
#[derive(Default)]
pub(crate) struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
    }
    pub fn duration(&mut self, d: Duration) {
        self.u64(d.as_secs());
        self.u64(u64::from(d.subsec_nanos()));
    }
    fn range(&mut self, r: &KeyRange) {
        self.bytes(&r.start);
        self.bytes(&r.end);
    }
    pub fn key_value(&mut self, kv: &KeyValue) {
        self.bytes(&kv.key);
        self.bytes(&kv.value);
        self.i64(kv.create_revision);
        self.i64(kv.mod_revision);
        self.i64(kv.version);
        self.i64(kv.lease);
    }
}

/// Reads an encoding; every getter fails with a reason instead of panicking.
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
}

/// Why bytes did not decode.
pub(crate) type DecodeError = String;

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(format!("needs {n} more bytes, {} left", self.buf.len()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u64()? as i64)
    }
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("bad boolean {b}")),
        }
    }
    pub fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| "length overflows".to_owned())?;
        Ok(Bytes::copy_from_slice(self.take(n)?))
    }
    pub fn duration(&mut self) -> Result<Duration, DecodeError> {
        let secs = self.u64()?;
        let nanos = u32::try_from(self.u64()?).ok().filter(|n| *n < 1_000_000_000).ok_or("bad nanoseconds")?;
        Ok(Duration::new(secs, nanos))
    }
    fn range(&mut self) -> Result<KeyRange, DecodeError> {
        Ok(KeyRange { start: self.bytes()?, end: self.bytes()? })
    }
    pub fn key_value(&mut self) -> Result<KeyValue, DecodeError> {
        Ok(KeyValue {
            key: self.bytes()?,
            value: self.bytes()?,
            create_revision: self.i64()?,
            mod_revision: self.i64()?,
            version: self.i64()?,
            lease: self.i64()?,
        })
    }
    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() { Ok(()) } else { Err(format!("{} trailing bytes", self.buf.len())) }
    }
}

const PUT: u8 = 1;
const DELETE: u8 = 2;
const TXN: u8 = 3;
const REVOKE: u8 = 4;
const GRANT: u8 = 5;
const COMPACT: u8 = 6;
const RANGE: u8 = 7;

impl WalEntry {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        match self {
            WalEntry::Write(WriteRequest::Put(p)) => put(&mut e, p),
            WalEntry::Write(WriteRequest::Delete(d)) => delete(&mut e, d),
            WalEntry::Write(WriteRequest::Txn(t)) => {
                e.u8(TXN);
                e.u64(t.compare.len() as u64);
                for c in &t.compare {
                    compare(&mut e, c);
                }
                for branch in [&t.success, &t.failure] {
                    e.u64(branch.len() as u64);
                    for op in branch {
                        match op {
                            TxnOp::Put(p) => put(&mut e, p),
                            TxnOp::Delete(d) => delete(&mut e, d),
                            TxnOp::Range(r) => {
                                e.u8(RANGE);
                                e.range(&r.range);
                                e.i64(r.revision);
                                e.i64(r.limit);
                                e.bool(r.keys_only);
                                e.bool(r.count_only);
                            }
                        }
                    }
                }
            }
            WalEntry::Write(WriteRequest::LeaseRevoke { id }) => {
                e.u8(REVOKE);
                e.i64(*id);
            }
            WalEntry::LeaseGrant { id, ttl } => {
                e.u8(GRANT);
                e.i64(*id);
                e.duration(*ttl);
            }
            WalEntry::Compact { revision } => {
                e.u8(COMPACT);
                e.i64(*revision);
            }
        }
        e.0
    }

    /// Decodes an encoding made by [`encode`](Self::encode).
    ///
    /// # Errors
    /// A reason when the bytes are not such an encoding.
    pub fn decode(buf: &[u8]) -> Result<WalEntry, DecodeError> {
        let mut d = Dec::new(buf);
        let entry = match d.u8()? {
            GRANT => WalEntry::LeaseGrant { id: d.i64()?, ttl: d.duration()? },
            COMPACT => WalEntry::Compact { revision: d.i64()? },
            REVOKE => WalEntry::Write(WriteRequest::LeaseRevoke { id: d.i64()? }),
            TXN => {
                let n = d.u64()?;
                let mut compares = Vec::new();
                for _ in 0..n {
                    compares.push(decode_compare(&mut d)?);
                }
                let success = decode_ops(&mut d)?;
                let failure = decode_ops(&mut d)?;
                WalEntry::Write(WriteRequest::Txn(TxnRequest { compare: compares, success, failure }))
            }
            tag => match decode_op(&mut d, tag)? {
                TxnOp::Put(p) => WalEntry::Write(WriteRequest::Put(p)),
                TxnOp::Delete(x) => WalEntry::Write(WriteRequest::Delete(x)),
                TxnOp::Range(_) => return Err("a range is not a log entry".into()),
            },
        };
        d.finish()?;
        Ok(entry)
    }
}

fn put(e: &mut Enc, p: &PutRequest) {
    e.u8(PUT);
    e.bytes(&p.key);
    e.bytes(&p.value);
    e.i64(p.lease);
    e.bool(p.prev_kv);
}

fn delete(e: &mut Enc, d: &DeleteRequest) {
    e.u8(DELETE);
    e.range(&d.range);
    e.bool(d.prev_kv);
}

fn compare(e: &mut Enc, c: &Compare) {
    e.bytes(&c.key);
    e.u8(match c.op {
        CompareOp::Equal => 0,
        CompareOp::NotEqual => 1,
        CompareOp::Greater => 2,
        CompareOp::Less => 3,
    });
    match &c.target {
        CompareTarget::Value(v) => {
            e.u8(0);
            e.bytes(v);
        }
        CompareTarget::Version(n)
        | CompareTarget::CreateRevision(n)
        | CompareTarget::ModRevision(n)
        | CompareTarget::Lease(n) => {
            e.u8(match c.target {
                CompareTarget::Version(_) => 1,
                CompareTarget::CreateRevision(_) => 2,
                CompareTarget::ModRevision(_) => 3,
                _ => 4,
            });
            e.i64(*n);
        }
    }
}

fn decode_compare(d: &mut Dec<'_>) -> Result<Compare, DecodeError> {
    let key = d.bytes()?;
    let op = match d.u8()? {
        0 => CompareOp::Equal,
        1 => CompareOp::NotEqual,
        2 => CompareOp::Greater,
        3 => CompareOp::Less,
        b => return Err(format!("bad compare op {b}")),
    };
    let target = match d.u8()? {
        0 => CompareTarget::Value(d.bytes()?),
        1 => CompareTarget::Version(d.i64()?),
        2 => CompareTarget::CreateRevision(d.i64()?),
        3 => CompareTarget::ModRevision(d.i64()?),
        4 => CompareTarget::Lease(d.i64()?),
        b => return Err(format!("bad compare target {b}")),
    };
    Ok(Compare { key, op, target })
}

fn decode_ops(d: &mut Dec<'_>) -> Result<Vec<TxnOp>, DecodeError> {
    let n = d.u64()?;
    let mut ops = Vec::new();
    for _ in 0..n {
        let tag = d.u8()?;
        ops.push(decode_op(d, tag)?);
    }
    Ok(ops)
}

fn decode_op(d: &mut Dec<'_>, tag: u8) -> Result<TxnOp, DecodeError> {
    Ok(match tag {
        PUT => TxnOp::Put(PutRequest { key: d.bytes()?, value: d.bytes()?, lease: d.i64()?, prev_kv: d.bool()? }),
        DELETE => TxnOp::Delete(DeleteRequest { range: d.range()?, prev_kv: d.bool()? }),
        RANGE => TxnOp::Range(RangeRequest {
            range: d.range()?,
            revision: d.i64()?,
            limit: d.i64()?,
            keys_only: d.bool()?,
            count_only: d.bool()?,
        }),
        t => return Err(format!("unknown entry tag {t}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_kind_roundtrips_and_every_truncation_fails() {
        let txn = TxnRequest {
            compare: vec![
                Compare::value("a", CompareOp::NotEqual, "x"),
                Compare::mod_revision("b", CompareOp::Less, 9),
                Compare { key: "c".into(), op: CompareOp::Greater, target: CompareTarget::Lease(3) },
            ],
            success: vec![
                TxnOp::Put(PutRequest::new("a", "1").with_lease(4)),
                TxnOp::Delete(DeleteRequest::prefix("p")),
            ],
            failure: vec![TxnOp::Range(RangeRequest::prefix("q").limit(3).keys_only().at_revision(2))],
        };
        let entries = [
            WalEntry::Write(PutRequest::new("k", "v").with_prev_kv().into()),
            WalEntry::Write(DeleteRequest::key("k").into()),
            WalEntry::Write(txn.into()),
            WalEntry::Write(WriteRequest::LeaseRevoke { id: 5 }),
            WalEntry::LeaseGrant { id: 5, ttl: Duration::from_millis(1500) },
            WalEntry::Compact { revision: 77 },
        ];
        for entry in entries {
            let buf = entry.encode();
            assert_eq!(WalEntry::decode(&buf), Ok(entry));
            for cut in 0..buf.len() {
                assert!(WalEntry::decode(&buf[..cut]).is_err());
            }
        }
    }
}
