//! `EtcdKv`: the [`KvStore`] contract over a real etcd cluster, through etcd-client.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, CompactionOptions, ConnectOptions, GetOptions, KvClient, LeaseClient, LeaseGrantOptions, WatchClient,
    WatchOptions,
};

use super::config::EtcdKvConfig;
use super::convert::{
    delete_request, header_revision, key_value, put_request, range_request, range_response, txn_lease, txn_request,
    txn_response, txn_size,
};
use super::error::{Failure, classify, timeout};
use super::namespace::Namespace;
use super::retry::{Failed, not_applied, with_retries};
use super::watch;
use crate::kv::{
    DeleteRequest, DeleteResponse, KvError, KvStatus, KvStore, KvWatchStream, LeaseGrant, PutRequest, PutResponse,
    RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchRequest,
};

/// The largest gRPC message accepted from etcd (etcd's own send limit is `i32::MAX`).
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

/// A [`KvStore`] backed by a real etcd (v3 API, 3.4 or later), over plain HTTP/2.
///
/// Every key lives under [`EtcdKvConfig::key_prefix`], which callers never see. Revisions,
/// compaction and lease ids are etcd's own and so are shared by every user of the cluster.
///
/// - Values over [`EtcdKvConfig::max_value_bytes`] fail with `TooLarge` before anything is
///   sent; requests etcd itself finds too large (over `--max-request-bytes`) fail with
///   `TooLarge` too.
/// - `compact` is physical by default ([`EtcdKvConfig::physical_compaction`]).
/// - Faults: every call is bounded by [`EtcdKvConfig::request_timeout`] and fails with
///   `Unavailable` or `Timeout` (outcome unknown), never hangs. Calls are spread over every
///   endpoint; one that certainly had no effect — the member is down (connection refused) or
///   has no leader (requests carry etcd's `require_leader`) — is sent again within the timeout,
///   to whichever endpoint answers; a call whose outcome is unknown is never sent again. The
///   same `EtcdKv` reconnects by itself when a member comes back. An open watch does not
///   resume across a lost connection: it ends with `Unavailable` (or `Compacted`), and the
///   caller watches again from the revision after the last one it saw, as orch's watchers do.
/// - `status` reads the current revision from a range's response header; etcd has no call that
///   returns the compaction revision, so it reads at revision 1 and, if that is compacted,
///   opens a watch from revision 1, whose cancellation carries the compaction revision. A
///   compaction at revision 1 or none at all reads as 0.
/// - `lease_grant` rounds the TTL up to whole seconds (etcd raises it to its minimum TTL, about
///   1.5 × the election timeout); `lease_keep_alive` is one round trip on a keep-alive stream.
///
/// # Example
/// ```no_run
/// use orch_store::etcd::{EtcdKv, EtcdKvConfig};
/// use orch_store::kv::{KvStore, PutRequest, RangeRequest};
///
/// # async fn run() -> Result<(), orch_store::KvError> {
/// let kv = EtcdKv::connect(&["http://127.0.0.1:2379"], EtcdKvConfig::default().with_key_prefix("/app/")).await?;
/// kv.put(PutRequest::new("greeting", "hello")).await?;
/// let read = kv.range(RangeRequest::key("greeting")).await?;
/// assert_eq!(read.kvs[0].value, "hello");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct EtcdKv {
    kv: KvClient,
    watch: WatchClient,
    lease: LeaseClient,
    ns: Namespace,
    config: EtcdKvConfig,
    endpoints: Vec<String>,
}

impl fmt::Debug for EtcdKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdKv").field("endpoints", &self.endpoints).field("config", &self.config).finish()
    }
}

/// What the caller knows about a failed request, to complete the error.
#[derive(Clone, Copy, Default)]
struct Ctx {
    /// The revision asked for (read, watch or compaction).
    revision: i64,
    /// The lease involved.
    lease: i64,
    /// Bytes of keys and values sent.
    size: usize,
}

impl EtcdKv {
    /// Connects to an etcd cluster (`http://host:port` or `host:port` endpoints) and checks,
    /// within [`EtcdKvConfig::dial_timeout`], that it answers.
    ///
    /// # Errors
    /// `InvalidRequest` for no or malformed endpoints; `Unavailable` if etcd does not answer in time.
    ///
    /// # Example
    /// ```no_run
    /// use std::time::Duration;
    /// use orch_store::etcd::{EtcdKv, EtcdKvConfig};
    ///
    /// # async fn run() -> Result<(), orch_store::KvError> {
    /// let config = EtcdKvConfig::default().with_dial_timeout(Duration::from_secs(1));
    /// let kv = EtcdKv::connect(&["127.0.0.1:2379", "127.0.0.2:2379"], config).await?;
    /// # drop(kv);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect<S: AsRef<str>>(endpoints: &[S], config: EtcdKvConfig) -> Result<Self, KvError> {
        let endpoints: Vec<String> = endpoints.iter().map(|e| e.as_ref().to_owned()).collect();
        if endpoints.is_empty() {
            return Err(KvError::InvalidRequest { reason: "no etcd endpoints given".into() });
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(config.dial_timeout)
            // etcd's default keep-alive enforcement allows pings every 5 s, with active streams.
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_require_leader(true);
        let client = match tokio::time::timeout(config.dial_timeout, Client::connect(&endpoints, Some(options))).await {
            Err(_) => return Err(unreachable(&endpoints, &timeout("connect", config.dial_timeout))),
            Ok(Err(e)) => {
                return Err(match classify(&e, "connect") {
                    Failure::Other(err @ KvError::InvalidRequest { .. }) => err,
                    _ => KvError::Unavailable { reason: format!("cannot connect to etcd at {endpoints:?}: {e}") },
                });
            }
            Ok(Ok(client)) => client,
        };
        let kv = EtcdKv {
            kv: client.kv_client().max_decoding_message_size(MAX_RESPONSE_BYTES),
            watch: client.watch_client().max_decoding_message_size(MAX_RESPONSE_BYTES),
            lease: client.lease_client(),
            ns: Namespace::new(config.key_prefix.clone()),
            config,
            endpoints,
        };
        // The channel connects lazily: make sure someone answers.
        let probe = kv.config.dial_timeout;
        match kv.current_revision(probe).await {
            Ok(_) => Ok(kv),
            Err(e) => Err(unreachable(&kv.endpoints, &e)),
        }
    }

    /// The configuration this store was connected with.
    ///
    /// ```no_run
    /// # async fn run(kv: orch_store::etcd::EtcdKv) {
    /// println!("keys live under {:?}", kv.config().key_prefix);
    /// # }
    /// ```
    pub fn config(&self) -> &EtcdKvConfig {
        &self.config
    }

    /// Runs one etcd call under the request timeout, sending it again (to whichever endpoint
    /// the channel picks) while it certainly had no effect: a member that is down or has no
    /// leader costs a retry, not an error, as long as time is left.
    async fn call<T, F, Fut>(&self, op: &'static str, ctx: Ctx, attempt: F) -> Result<T, KvError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let limit = self.config.request_timeout;
        match with_retries(limit, not_applied, attempt).await {
            Ok(v) => Ok(v),
            Err(Failed::TimedOut) => Err(timeout(op, limit)),
            Err(Failed::Error(e)) => Err(self.complete(classify(&e, op), ctx).await),
        }
    }

    /// Turns a classified failure into the full error, looking up what etcd did not say.
    async fn complete(&self, failure: Failure, ctx: Ctx) -> KvError {
        match failure {
            Failure::Compacted => {
                // etcd does not say where the compaction point is; ask (best effort: if that
                // fails too, the least revision consistent with the error).
                let compacted = self.compact_revision().await.ok().filter(|c| *c > ctx.revision);
                KvError::Compacted { requested: ctx.revision, compacted: compacted.unwrap_or(ctx.revision + 1) }
            }
            Failure::FutureRevision => {
                let current = self.current_revision(self.config.request_timeout).await.unwrap_or(ctx.revision - 1);
                KvError::FutureRevision { requested: ctx.revision, current }
            }
            Failure::LeaseNotFound => KvError::LeaseNotFound { id: ctx.lease },
            Failure::TooLarge => KvError::TooLarge { size: ctx.size, limit: self.config.max_request_bytes },
            Failure::Other(e) => e,
        }
    }

    /// The current revision, from the header of a count-only read of a key nobody can write.
    async fn current_revision(&self, limit: Duration) -> Result<i64, KvError> {
        let read = with_retries(limit, not_applied, || {
            let (mut kv, key) = (self.kv.clone(), self.ns.probe_key());
            async move { kv.get(key, Some(GetOptions::new().with_count_only())).await }
        });
        match read.await {
            Err(Failed::TimedOut) => Err(timeout("status", limit)),
            Err(Failed::Error(e)) => Err(plain(&e, "status")),
            Ok(resp) => Ok(header_revision(resp.0.header.as_ref())),
        }
    }

    /// The compaction revision (0 if nothing before revision 2 was ever compacted away).
    async fn compact_revision(&self) -> Result<i64, KvError> {
        let read = with_retries(self.config.request_timeout, not_applied, || {
            let (mut kv, key) = (self.kv.clone(), self.ns.probe_key());
            async move { kv.get(key, Some(GetOptions::new().with_count_only().with_revision(1))).await }
        });
        match read.await {
            Err(Failed::TimedOut) => return Err(timeout("status", self.config.request_timeout)),
            Ok(_) => return Ok(0),
            Err(Failed::Error(e)) if classify(&e, "status") == Failure::Compacted => {}
            Err(Failed::Error(e)) => return Err(plain(&e, "status")),
        }
        // Revision 1 is compacted: a watch from it is cancelled with the compaction revision.
        let mut client = self.watch.clone();
        let find = async {
            let opts = WatchOptions::new().with_start_revision(1);
            let mut stream = client.watch(self.ns.probe_key(), Some(opts)).await?;
            while let Some(resp) = stream.message().await? {
                if resp.0.compact_revision != 0 {
                    return Ok(Some(resp.0.compact_revision));
                }
                if resp.0.canceled {
                    break;
                }
            }
            Ok::<_, etcd_client::Error>(None)
        };
        match tokio::time::timeout(self.config.request_timeout, find).await {
            Err(_) => Err(timeout("status", self.config.request_timeout)),
            Ok(Err(e)) => Err(plain(&e, "status")),
            Ok(Ok(Some(rev))) => Ok(rev),
            Ok(Ok(None)) => {
                Err(KvError::Unavailable { reason: "etcd cancelled the compaction probe without a revision".into() })
            }
        }
    }
}

/// The error of a call that needs no context (status probes): failures that would need one are
/// unexpected there and reported as such.
fn plain(e: &etcd_client::Error, op: &str) -> KvError {
    match classify(e, op) {
        Failure::Other(err) => err,
        other => KvError::Unavailable { reason: format!("etcd {op}: unexpected {other:?}: {e}") },
    }
}

fn unreachable(endpoints: &[String], err: &KvError) -> KvError {
    KvError::Unavailable { reason: format!("cannot reach etcd at {endpoints:?}: {err}") }
}

#[async_trait]
impl KvStore for EtcdKv {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError> {
        let (key, opts) = range_request(&self.ns, &req)?;
        let ctx = Ctx { revision: req.revision, size: key.len(), ..Ctx::default() };
        let resp = self
            .call("range", ctx, || {
                let (mut kv, key, opts) = (self.kv.clone(), key.clone(), opts.clone());
                async move { kv.get(key, Some(opts)).await }
            })
            .await?;
        Ok(range_response(&self.ns, resp.0, 0))
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, KvError> {
        let (key, value, opts) = put_request(&self.ns, &req, self.config.max_value_bytes)?;
        let ctx = Ctx { lease: req.lease, size: key.len() + value.len(), ..Ctx::default() };
        let resp = self
            .call("put", ctx, || {
                let (mut kv, key, value, opts) = (self.kv.clone(), key.clone(), value.clone(), opts.clone());
                async move { kv.put(key, value, Some(opts)).await }
            })
            .await?
            .0;
        Ok(PutResponse {
            revision: header_revision(resp.header.as_ref()),
            prev_kv: resp.prev_kv.map(|kv| key_value(&self.ns, kv)),
        })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, KvError> {
        let (key, opts) = delete_request(&self.ns, &req)?;
        let ctx = Ctx { size: key.len(), ..Ctx::default() };
        let resp = self
            .call("delete", ctx, || {
                let (mut kv, key, opts) = (self.kv.clone(), key.clone(), opts.clone());
                async move { kv.delete(key, Some(opts)).await }
            })
            .await?
            .0;
        Ok(DeleteResponse {
            revision: header_revision(resp.header.as_ref()),
            deleted: resp.deleted,
            prev_kvs: resp.prev_kvs.into_iter().map(|kv| key_value(&self.ns, kv)).collect(),
        })
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, KvError> {
        let txn = txn_request(&self.ns, &req, self.config.max_value_bytes)?;
        // A read at an old revision inside the transaction can be what was compacted.
        let revision = req
            .success
            .iter()
            .chain(&req.failure)
            .find_map(|op| match op {
                crate::kv::TxnOp::Range(r) if r.revision != 0 => Some(r.revision),
                _ => None,
            })
            .unwrap_or(0);
        let ctx = Ctx { revision, lease: txn_lease(&req), size: txn_size(&req) };
        let resp = self
            .call("txn", ctx, || {
                let (mut kv, txn) = (self.kv.clone(), txn.clone());
                async move { kv.txn(txn).await }
            })
            .await?;
        txn_response(&self.ns, resp.0)
    }

    async fn watch(&self, req: WatchRequest) -> Result<KvWatchStream, KvError> {
        watch::open(self.watch.clone(), self.ns.clone(), &req, self.config.request_timeout).await
    }

    async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError> {
        let secs = ttl.as_secs().saturating_add(u64::from(ttl.subsec_nanos() > 0));
        let secs = i64::try_from(secs)
            .map_err(|_| KvError::InvalidRequest { reason: format!("lease TTL {ttl:?} is too large") })?;
        let mut opts = LeaseGrantOptions::new();
        if id != 0 {
            opts = opts.with_id(id);
        }
        let ctx = Ctx { lease: id, ..Ctx::default() };
        let resp = self
            .call("lease grant", ctx, || {
                let (mut lease, opts) = (self.lease.clone(), opts.clone());
                async move { lease.grant(secs, Some(opts)).await }
            })
            .await?
            .0;
        if !resp.error.is_empty() {
            return Err(KvError::InvalidRequest { reason: format!("etcd lease grant: {}", resp.error) });
        }
        Ok(LeaseGrant { id: resp.id, ttl: resp.ttl })
    }

    async fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError> {
        let once = || {
            let mut lease = self.lease.clone();
            async move {
                // Opening the stream already renews once (and checks the lease exists), but
                // does not hand out the TTL: renew again to read it.
                let (mut keeper, mut stream) = lease.keep_alive(id).await?;
                keeper.keep_alive().await?;
                stream.message().await
            }
        };
        let ctx = Ctx { lease: id, ..Ctx::default() };
        match self.call("lease keep-alive", ctx, once).await? {
            Some(resp) if resp.0.ttl > 0 => Ok(resp.0.ttl),
            Some(_) => Err(KvError::LeaseNotFound { id }),
            None => Err(KvError::Unavailable { reason: "etcd closed the lease keep-alive stream".into() }),
        }
    }

    async fn lease_revoke(&self, id: i64) -> Result<(), KvError> {
        self.call("lease revoke", Ctx { lease: id, ..Ctx::default() }, || {
            let mut lease = self.lease.clone();
            async move { lease.revoke(id).await }
        })
        .await?;
        Ok(())
    }

    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        let mut opts = CompactionOptions::new();
        if self.config.physical_compaction {
            opts = opts.with_physical();
        }
        self.call("compact", Ctx { revision, ..Ctx::default() }, || {
            let (mut kv, opts) = (self.kv.clone(), opts.clone());
            async move { kv.compact(revision, Some(opts)).await }
        })
        .await?;
        Ok(())
    }

    async fn status(&self) -> Result<KvStatus, KvError> {
        let revision = self.current_revision(self.config.request_timeout).await?;
        let compact_revision = self.compact_revision().await?;
        Ok(KvStatus { revision, compact_revision })
    }
}
