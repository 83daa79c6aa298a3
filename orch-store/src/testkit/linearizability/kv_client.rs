//! The model's operations over any [`KvStore`]: reads are ranges, conditional writes are
//! transactions.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::model::{Input, Output};
use super::workload::{Indefinite, ModelStore};
use crate::kv::{Compare, CompareOp, DeleteRequest, KvStore, PutRequest, RangeRequest, TxnOp, TxnRequest};

/// A [`KvStore`] seen as the register-per-key model, every key under a prefix.
///
/// Every [`KvError`](crate::kv::KvError) counts as an unknown outcome: a backend may fail after
/// the write took effect (a lost connection to etcd, a failed sync after the apply).
///
/// ```
/// use std::sync::Arc;
/// use orch_store::mem::MemKv;
/// use orch_store::testkit::linearizability::{Input, KvModelStore, ModelStore, Output};
/// # #[tokio::main] async fn main() {
/// let store = KvModelStore::new(Arc::new(MemKv::new()), "test/");
/// assert_eq!(store.apply("a", &Input::Create("1".into())).await, Ok(Output::Applied(true)));
/// assert_eq!(store.apply("a", &Input::Get).await, Ok(Output::Value(Some("1".into()))));
/// # }
/// ```
pub struct KvModelStore {
    kv: Arc<dyn KvStore>,
    prefix: String,
}

impl KvModelStore {
    /// The model over `kv`, its keys under `prefix`.
    pub fn new(kv: Arc<dyn KvStore>, prefix: impl Into<String>) -> Self {
        KvModelStore { kv, prefix: prefix.into() }
    }

    /// A transaction writing `value` at `key` (or deleting it) if `compare` holds.
    async fn write_if(&self, key: Bytes, compare: Compare, value: String) -> Result<Output, Indefinite> {
        let txn = TxnRequest {
            compare: vec![compare],
            success: vec![TxnOp::Put(PutRequest::new(key, value))],
            failure: vec![],
        };
        let resp = self.kv.txn(txn).await.map_err(|e| Indefinite(e.to_string()))?;
        Ok(Output::Applied(resp.succeeded))
    }
}

#[async_trait]
impl ModelStore for KvModelStore {
    async fn apply(&self, key: &str, input: &Input) -> Result<Output, Indefinite> {
        let key = Bytes::from(format!("{}{key}", self.prefix));
        let failed = |e: crate::kv::KvError| Indefinite(e.to_string());
        match input {
            Input::Get => {
                let resp = self.kv.range(RangeRequest::key(key)).await.map_err(failed)?;
                let value = resp.kvs.first().map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
                Ok(Output::Value(value))
            }
            Input::Put(v) => {
                self.kv.put(PutRequest::new(key, v.clone())).await.map_err(failed)?;
                Ok(Output::Done)
            }
            Input::Create(v) => {
                let absent = Compare::create_revision(key.clone(), CompareOp::Equal, 0);
                self.write_if(key, absent, v.clone()).await
            }
            Input::Update(v) => {
                let present = Compare::create_revision(key.clone(), CompareOp::Greater, 0);
                self.write_if(key, present, v.clone()).await
            }
            Input::Cas { expected, new } => {
                let holds = Compare::value(key.clone(), CompareOp::Equal, expected.clone());
                self.write_if(key, holds, new.clone()).await
            }
            Input::Delete => {
                let resp = self.kv.delete(DeleteRequest::key(key)).await.map_err(failed)?;
                Ok(Output::Applied(resp.deleted > 0))
            }
        }
    }
}
