//! `EtcdKvConfig`: how [`EtcdKv`](super::EtcdKv) reaches and uses an etcd cluster.

use std::time::Duration;

use bytes::Bytes;

/// Settings of an [`EtcdKv`](super::EtcdKv): a plain struct with `Default` and by-value builders.
///
/// ```
/// use std::time::Duration;
/// use orch_store::etcd::EtcdKvConfig;
///
/// let config = EtcdKvConfig::default()
///     .with_key_prefix("/tenant-a")
///     .with_dial_timeout(Duration::from_secs(2))
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.key_prefix, "/tenant-a");
/// assert!(config.physical_compaction);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdKvConfig {
    /// Prepended to every key sent to etcd and stripped from every key returned, so several
    /// users share one etcd without seeing each other's keys (empty: the whole keyspace).
    /// Revisions, compaction and leases stay global to the etcd cluster.
    pub key_prefix: Bytes,
    /// How long [`EtcdKv::connect`](super::EtcdKv::connect) waits for etcd to answer (default 5 s).
    pub dial_timeout: Duration,
    /// How long one call may take before it fails with `KvError::Timeout` (default 10 s). For a
    /// watch this bounds only its creation. Within it, a call that certainly had no effect (the
    /// endpoint refused the connection, or etcd answered "no leader") is sent again, so a dead
    /// member or an election costs time, not an error; once no time is left, that last error
    /// (`Unavailable`) is returned.
    pub request_timeout: Duration,
    /// Whether `compact` waits until etcd has physically removed the old revisions from its
    /// backend (default `true`); with `false` it returns once the compaction is recorded, which is
    /// already enough for reads and watches below it to fail with `Compacted`.
    pub physical_compaction: bool,
    /// The largest value a put may carry (default 1.5 MiB − 64 KiB, which leaves room for the
    /// key and etcd's framing under etcd's default `--max-request-bytes`); larger values fail
    /// with `KvError::TooLarge` before anything is sent. Raise it together with the server's limit.
    pub max_value_bytes: usize,
    /// The server's `--max-request-bytes` (default 1.5 MiB, etcd's default); only used to fill in
    /// `KvError::TooLarge::limit` when etcd itself rejects a request (e.g. a large transaction).
    pub max_request_bytes: usize,
}

impl Default for EtcdKvConfig {
    fn default() -> Self {
        EtcdKvConfig {
            key_prefix: Bytes::new(),
            dial_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            physical_compaction: true,
            max_value_bytes: 1_572_864 - 65_536,
            max_request_bytes: 1_572_864,
        }
    }
}

impl EtcdKvConfig {
    /// Sets the key prefix (namespace) every key lives under.
    pub fn with_key_prefix(mut self, prefix: impl Into<Bytes>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets how long connecting may take.
    pub fn with_dial_timeout(mut self, timeout: Duration) -> Self {
        self.dial_timeout = timeout;
        self
    }

    /// Sets how long one call may take.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets whether compaction waits for the physical removal of old revisions.
    pub fn with_physical_compaction(mut self, physical: bool) -> Self {
        self.physical_compaction = physical;
        self
    }

    /// Sets the largest value a put may carry.
    pub fn with_max_value_bytes(mut self, limit: usize) -> Self {
        self.max_value_bytes = limit;
        self
    }

    /// Sets the server's request size limit, as reported in `KvError::TooLarge`.
    pub fn with_max_request_bytes(mut self, limit: usize) -> Self {
        self.max_request_bytes = limit;
        self
    }
}
