//! Conversions between our request and response types and etcd-client's, through the
//! [`Namespace`] so the key prefix never shows.

use bytes::Bytes;
use etcd_client::proto::{PbKeyValue, PbRangeResponse, PbResponseHeader, PbTxnOpResponse, PbTxnResponse};
use etcd_client::{DeleteOptions, GetOptions, PutOptions};

use super::namespace::Namespace;
use crate::kv::{
    Compare, CompareOp, CompareTarget, DeleteRequest, DeleteResponse, KeyValue, KvError, PutRequest, PutResponse,
    RangeRequest, RangeResponse, TxnOp, TxnOpResponse, TxnRequest, TxnResponse,
};

/// The revision in a response header (0 if etcd sent none).
pub(crate) fn header_revision(header: Option<&PbResponseHeader>) -> i64 {
    header.map_or(0, |h| h.revision)
}

/// A key-value from etcd, its key stripped of the prefix.
pub(crate) fn key_value(ns: &Namespace, kv: PbKeyValue) -> KeyValue {
    KeyValue {
        key: ns.strip(kv.key),
        value: Bytes::from(kv.value),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
    }
}

fn key_values(ns: &Namespace, kvs: Vec<PbKeyValue>) -> Vec<KeyValue> {
    kvs.into_iter().map(|kv| key_value(ns, kv)).collect()
}

/// The key and options of a range read.
pub(crate) fn range_request(ns: &Namespace, req: &RangeRequest) -> Result<(Vec<u8>, GetOptions), KvError> {
    let (key, end) = ns.range(&req.range)?;
    let mut opts = GetOptions::new().with_limit(req.limit).with_revision(req.revision);
    if !end.is_empty() {
        opts = opts.with_range(end);
    }
    if req.keys_only {
        opts = opts.with_keys_only();
    }
    if req.count_only {
        opts = opts.with_count_only();
    }
    Ok((key, opts))
}

/// A range response; `fallback_revision` stands in for a missing header (inside a transaction).
pub(crate) fn range_response(ns: &Namespace, resp: PbRangeResponse, fallback_revision: i64) -> RangeResponse {
    let revision = match header_revision(resp.header.as_ref()) {
        0 => fallback_revision,
        r => r,
    };
    RangeResponse { revision, kvs: key_values(ns, resp.kvs), more: resp.more, count: resp.count }
}

/// The key, value and options of a put.
///
/// # Errors
/// `TooLarge` for a value over `max_value`; `InvalidRequest` for an empty key.
pub(crate) fn put_request(
    ns: &Namespace,
    req: &PutRequest,
    max_value: usize,
) -> Result<(Vec<u8>, Vec<u8>, PutOptions), KvError> {
    if req.value.len() > max_value {
        return Err(KvError::TooLarge { size: req.value.len(), limit: max_value });
    }
    let key = ns.key(&req.key)?;
    let mut opts = PutOptions::new().with_lease(req.lease);
    if req.prev_kv {
        opts = opts.with_prev_key();
    }
    Ok((key, req.value.to_vec(), opts))
}

/// The key and options of a delete.
pub(crate) fn delete_request(ns: &Namespace, req: &DeleteRequest) -> Result<(Vec<u8>, DeleteOptions), KvError> {
    let (key, end) = ns.range(&req.range)?;
    let mut opts = DeleteOptions::new();
    if !end.is_empty() {
        opts = opts.with_range(end);
    }
    if req.prev_kv {
        opts = opts.with_prev_key();
    }
    Ok((key, opts))
}

fn compare(ns: &Namespace, c: &Compare) -> Result<etcd_client::Compare, KvError> {
    use etcd_client::CompareOp as Op;
    let key = ns.key(&c.key)?;
    let op = match c.op {
        CompareOp::Equal => Op::Equal,
        CompareOp::NotEqual => Op::NotEqual,
        CompareOp::Greater => Op::Greater,
        CompareOp::Less => Op::Less,
    };
    Ok(match &c.target {
        CompareTarget::Value(v) => etcd_client::Compare::value(key, op, v.to_vec()),
        CompareTarget::Version(v) => etcd_client::Compare::version(key, op, *v),
        CompareTarget::CreateRevision(r) => etcd_client::Compare::create_revision(key, op, *r),
        CompareTarget::ModRevision(r) => etcd_client::Compare::mod_revision(key, op, *r),
        CompareTarget::Lease(l) => etcd_client::Compare::lease(key, op, *l),
    })
}

fn txn_op(ns: &Namespace, op: &TxnOp, max_value: usize) -> Result<etcd_client::TxnOp, KvError> {
    Ok(match op {
        TxnOp::Range(r) => {
            let (key, opts) = range_request(ns, r)?;
            etcd_client::TxnOp::get(key, Some(opts))
        }
        TxnOp::Put(p) => {
            let (key, value, opts) = put_request(ns, p, max_value)?;
            etcd_client::TxnOp::put(key, value, Some(opts))
        }
        TxnOp::Delete(d) => {
            let (key, opts) = delete_request(ns, d)?;
            etcd_client::TxnOp::delete(key, Some(opts))
        }
    })
}

/// An etcd transaction (puts limited to values of `max_value` bytes).
pub(crate) fn txn_request(ns: &Namespace, req: &TxnRequest, max_value: usize) -> Result<etcd_client::Txn, KvError> {
    let compares = req.compare.iter().map(|c| compare(ns, c)).collect::<Result<Vec<_>, _>>()?;
    let success = req.success.iter().map(|op| txn_op(ns, op, max_value)).collect::<Result<Vec<_>, _>>()?;
    let failure = req.failure.iter().map(|op| txn_op(ns, op, max_value)).collect::<Result<Vec<_>, _>>()?;
    Ok(etcd_client::Txn::new().when(compares).and_then(success).or_else(failure))
}

/// A transaction's response. Every operation reports the transaction's revision unless etcd
/// gave it a header of its own.
///
/// # Errors
/// `Unavailable` if etcd sent an operation response without a body or a nested transaction
/// (which we never send).
pub(crate) fn txn_response(ns: &Namespace, resp: PbTxnResponse) -> Result<TxnResponse, KvError> {
    let revision = header_revision(resp.header.as_ref());
    let mut responses = Vec::with_capacity(resp.responses.len());
    for op in resp.responses {
        let malformed = || KvError::Unavailable { reason: "etcd sent a malformed transaction response".into() };
        let own = |h: Option<&PbResponseHeader>| match header_revision(h) {
            0 => revision,
            r => r,
        };
        responses.push(match op.response.ok_or_else(malformed)? {
            PbTxnOpResponse::ResponseRange(r) => TxnOpResponse::Range(range_response(ns, r, revision)),
            PbTxnOpResponse::ResponsePut(p) => TxnOpResponse::Put(PutResponse {
                revision: own(p.header.as_ref()),
                prev_kv: p.prev_kv.map(|kv| key_value(ns, kv)),
            }),
            PbTxnOpResponse::ResponseDeleteRange(d) => TxnOpResponse::Delete(DeleteResponse {
                revision: own(d.header.as_ref()),
                deleted: d.deleted,
                prev_kvs: key_values(ns, d.prev_kvs),
            }),
            PbTxnOpResponse::ResponseTxn(_) => return Err(malformed()),
        });
    }
    Ok(TxnResponse { succeeded: resp.succeeded, revision, responses })
}

/// Bytes of keys and values a transaction carries, for `TooLarge`.
pub(crate) fn txn_size(req: &TxnRequest) -> usize {
    let compares: usize = req
        .compare
        .iter()
        .map(|c| c.key.len() + if let CompareTarget::Value(v) = &c.target { v.len() } else { 0 })
        .sum();
    let ops: usize = req
        .success
        .iter()
        .chain(&req.failure)
        .map(|op| match op {
            TxnOp::Range(r) => r.range.start.len() + r.range.end.len(),
            TxnOp::Put(p) => p.key.len() + p.value.len(),
            TxnOp::Delete(d) => d.range.start.len() + d.range.end.len(),
        })
        .sum();
    compares + ops
}

/// The first lease a transaction's puts attach to, to name it in `LeaseNotFound`.
pub(crate) fn txn_lease(req: &TxnRequest) -> i64 {
    req.success
        .iter()
        .chain(&req.failure)
        .find_map(|op| match op {
            TxnOp::Put(p) if p.lease != 0 => Some(p.lease),
            _ => None,
        })
        .unwrap_or(0)
}
