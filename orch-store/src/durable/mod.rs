//! `DurableKv`: the embedded, on-disk backend of `KvStore` — the shared MVCC core in memory, a
//! group-committed write-ahead log, and periodic snapshots.
//!
//! # Why a log and an in-memory core (and not an embedded B-tree such as redb)
//! A durable write costs one fdatasync, and a disk does only a few hundred to a few thousand of
//! them per second; the only way to go faster is to make one sync cover many writes. An
//! append-only log does exactly that with group commit, writing each record once, sequentially,
//! while a B-tree engine rewrites pages of its tree (and its own journal) on every commit — write
//! amplification we do not need, since the key index lives in memory anyway. Keeping state in the
//! [`MvccCore`](crate::mvcc::MvccCore) that `MemKv` also uses gives both backends the same
//! semantics by construction (revisions, txn, compaction, leases), so the contract suite tests
//! one implementation of them; this is etcd's own shape (WAL + in-memory index + snapshots).
//!
//! # Ordering and the durability rule
//! Every write takes the state lock, is validated and applied to the core (which assigns its
//! revision), and its record is appended to the log queue — all under that lock, so log order is
//! revision order. The caller then waits, without the lock, until the log is durable up to its
//! record. The core thus runs ahead of the disk, but nobody can see that: reads are served at
//! the *visible* revision (the highest one whose record is durable), watchers receive events only
//! up to it, and `status` reports it. A response is returned only once its record — and so,
//! the log being a prefix, every record before it — is durable. A request that changes nothing
//! (a failed txn compare, a delete of a missing key) is not logged, but it still waits for every
//! record before it, since its answer may depend on them.
//!
//! Worked example (revision 1 is the empty store; `visible` in brackets):
//!
//! ```text
//! t0  A: put a=1  -> core rev 2, log #1 queued             [visible 1]   reads see no `a`
//! t1  B: txn "a exists" then put b=2
//!                 -> compare sees rev 2, core rev 3, #2    [visible 1]   A and B both wait
//! t2  writer: write #1 #2, one fdatasync                   [visible 3]   reads see a and b
//! t3  A and B are acknowledged (revisions 2 and 3); watchers get rev 2 and rev 3 in order
//! ```
//!
//! If power fails between t1 and t2, both records may be lost, but neither was acknowledged or
//! seen by anyone; B's outcome depended on A's write, and since the log keeps a prefix, B can
//! never survive without A. After a crash the store reopens at a revision at least as high as
//! every acknowledged one, and revisions stay contiguous.
//!
//! # Group commit (pipelined)
//! One writer thread per store takes every record queued so far, writes them with one `write`,
//! issues one fdatasync, publishes the new visible revision and acks them all; records arriving
//! meanwhile form the next batch. With 64 clients a sync covers up to 64 writes.
//!
//! # Files and recovery
//! - `wal-{seq}-{first}.log`: log segments of checksummed records (`len | crc32 | index | entry`),
//!   rotated at [`DurableKvConfig::segment_bytes`]; a new segment's name is made durable
//!   (directory fsync) before anything in it is acknowledged.
//! - `snap-{index}.snap`: the full state (live keys and leases) after log record `index`, taken
//!   every [`DurableKvConfig::snapshot_interval`] records: written to a temp file, fsync'd,
//!   installed by rename and directory fsync once the log is durable up to `index`; then the
//!   segments it covers are deleted. History is bounded by automatic compaction
//!   ([`DurableKvConfig::compaction_window`]), so memory and disk stay bounded under churn.
//!
//! Opening loads the newest intact snapshot and replays the log after it. A torn or corrupt tail
//! of the last segment (an interrupted write: nothing good after it, or only never-written zeros
//! in between) is cut off and never served. Damage anywhere else — a bad record in an older
//! segment, bad bytes followed by good records, a gap in record indexes — fails the open with
//! [`KvError::Corrupt`](crate::kv::KvError::Corrupt) naming the file and offset. After recovery
//! history starts at the snapshot's revision (older revisions answer `Compacted`), and every
//! lease gets its full TTL again, as after an etcd leader change.
//!
//! All file I/O goes through [`DurableFs`]; [`FaultyFs`] simulates power cuts and I/O errors.

mod codec;
mod config;
mod engine;
mod faulty_fs;
mod fs;
mod kv;
mod lease_expiry;
mod record;
mod recovery;
mod segment;
mod snapshot;
mod wal;
mod watch;

pub use config::DurableKvConfig;
pub use faulty_fs::FaultyFs;
pub use fs::{DurableFile, DurableFs, OsFs};
pub use kv::DurableKv;
