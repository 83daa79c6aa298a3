//! The key-value layer: the `KvStore` trait (etcd v3 semantics), its request and event types, and errors.

mod error;
mod store;
mod types;

pub use error::KvError;
pub use store::{KvStore, KvWatchStream};
pub use types::{
    Compare, CompareOp, CompareTarget, DeleteRequest, DeleteResponse, KeyRange, KeyValue, KvEvent, KvEventKind,
    KvStatus, LeaseGrant, PutRequest, PutResponse, RangeRequest, RangeResponse, TxnOp, TxnOpResponse, TxnRequest,
    TxnResponse, WatchMessage, WatchRequest, prefix_end,
};
