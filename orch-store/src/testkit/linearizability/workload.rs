//! A workload of concurrent clients that records its history: random gets and writes over a
//! few keys, with client timeouts injected (the call is abandoned and keeps running).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::Either;

use async_trait::async_trait;

use super::history::History;
use super::model::{Input, OpKind, Output};

/// A store under test, seen through the model's operations.
///
/// # Errors
/// [`Indefinite`] when the outcome is unknown (the call may or may not have taken effect). A
/// refusal that guarantees no effect is an answer, [`Output::Failed`], not an error.
///
/// # Example
/// ```
/// use std::sync::Mutex;
/// use orch_store::testkit::linearizability::{Indefinite, Input, ModelStore, Output};
///
/// /// A single-key-per-name map behind one lock: trivially linearizable.
/// struct Locked(Mutex<std::collections::HashMap<String, String>>);
///
/// #[async_trait::async_trait]
/// impl ModelStore for Locked {
///     async fn apply(&self, key: &str, input: &Input) -> Result<Output, Indefinite> {
///         let mut map = self.0.lock().unwrap();
///         Ok(match input {
///             Input::Get => Output::Value(map.get(key).cloned()),
///             Input::Put(v) => { map.insert(key.into(), v.clone()); Output::Done }
///             Input::Delete => Output::Applied(map.remove(key).is_some()),
///             _ => return Err(Indefinite("not supported".into())),
///         })
///     }
/// }
/// ```
#[async_trait]
pub trait ModelStore: Send + Sync + 'static {
    /// Runs one operation on `key`.
    async fn apply(&self, key: &str, input: &Input) -> Result<Output, Indefinite>;

    /// Whether the store offers operations of this kind (the workload issues only those).
    fn supports(&self, kind: OpKind) -> bool {
        let _ = kind;
        true
    }
}

#[allow(dead_code)]
fn _object_safe(_: &dyn ModelStore) {}

/// An operation whose outcome is unknown, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("outcome unknown: {0}")]
pub struct Indefinite(pub String);

/// How many clients do what, and which faults are injected.
///
/// ```
/// use std::time::Duration;
/// use orch_store::testkit::linearizability::Workload;
/// let w = Workload::default().clients(8).ops_per_client(500).keys(5).seed(7)
///     .timeouts(0.05, Duration::from_millis(2));
/// assert_eq!(w.clients, 8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Concurrent clients.
    pub clients: usize,
    /// Operations each client issues, one at a time.
    pub ops_per_client: usize,
    /// Distinct keys (`key0`, `key1`, ...): fewer keys, more contention.
    pub keys: usize,
    /// Seed of the random choices (operations, keys, timeouts).
    pub seed: u64,
    /// Share of calls given an injected fault: a send delay and a client deadline, each
    /// uniform in `[0, max_injected_timeout]`; when the deadline comes first, the client
    /// abandons the call, which still reaches the store later.
    pub timeout_rate: f64,
    /// The longest injected send delay and deadline.
    pub max_injected_timeout: Duration,
    /// The deadline of every other call (reaching it also makes the outcome unknown).
    pub call_timeout: Duration,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            clients: 4,
            ops_per_client: 100,
            keys: 4,
            seed: 1,
            timeout_rate: 0.05,
            max_injected_timeout: Duration::from_millis(2),
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl Workload {
    /// Sets the number of clients.
    pub fn clients(mut self, n: usize) -> Self {
        self.clients = n;
        self
    }
    /// Sets the operations per client.
    pub fn ops_per_client(mut self, n: usize) -> Self {
        self.ops_per_client = n;
        self
    }
    /// Sets the number of keys (at least one is used).
    pub fn keys(mut self, n: usize) -> Self {
        self.keys = n;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Injects a fault into a share `rate` of calls: a send delay and a deadline, each uniform
    /// in `[0, max]`.
    pub fn timeouts(mut self, rate: f64, max: Duration) -> Self {
        self.timeout_rate = rate;
        self.max_injected_timeout = max;
        self
    }
}

/// What a workload did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Operations issued.
    pub operations: usize,
    /// Calls abandoned at an injected deadline (still in flight, so their effect may land later).
    pub injected_timeouts: usize,
    /// Other calls whose outcome is unknown (a deadline or an indefinite error).
    pub indefinite: usize,
    /// Writes the store said took effect.
    pub writes_applied: usize,
}

/// Runs `workload` against `store` on the current tokio runtime and returns the history and
/// what happened. Each call runs as its own task; at a deadline the client stops waiting and
/// moves on while the call keeps running (its effect may land later, as a request already on
/// the wire does). Every abandoned call has finished when this returns.
///
/// # Panics
/// Outside a tokio runtime.
///
/// ```
/// use std::sync::Arc;
/// use orch_store::mem::MemKv;
/// use orch_store::testkit::linearizability::{CheckConfig, KvModelStore, Workload, check, run_workload};
/// # #[tokio::main] async fn main() {
/// let store = Arc::new(KvModelStore::new(Arc::new(MemKv::new()), "lin/"));
/// let (history, stats) = run_workload(store, &Workload::default().ops_per_client(50)).await;
/// assert_eq!(stats.operations, 200);
/// let report = check(&history.operations(), &CheckConfig::default());
/// assert!(report.is_linearizable(), "{}", report.violations[0]);
/// # }
/// ```
pub async fn run_workload(store: Arc<dyn ModelStore>, workload: &Workload) -> (Arc<History>, WorkloadStats) {
    run_workload_until(store, workload, futures::future::pending()).await
}

/// As [`run_workload`], but the clients also stop (each after its call in flight) once `stop`
/// completes: for a workload that runs alongside something else, such as a schedule of
/// injected faults, for as long as that takes. [`Workload::ops_per_client`] stays a bound.
///
/// # Panics
/// Outside a tokio runtime.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use orch_store::mem::MemKv;
/// use orch_store::testkit::linearizability::{KvModelStore, Workload, run_workload_until};
/// # #[tokio::main] async fn main() {
/// let store = Arc::new(KvModelStore::new(Arc::new(MemKv::new()), "lin/"));
/// let workload = Workload::default().ops_per_client(1_000_000);
/// let faults = async { tokio::time::sleep(Duration::from_millis(50)).await }; // your schedule here
/// let (_history, stats) = run_workload_until(store, &workload, faults).await;
/// assert!(stats.operations < 4_000_000);
/// # }
/// ```
pub async fn run_workload_until(
    store: Arc<dyn ModelStore>,
    workload: &Workload,
    stop: impl Future<Output = ()>,
) -> (Arc<History>, WorkloadStats) {
    let history = Arc::new(History::new());
    let stopped = Arc::new(AtomicBool::new(false));
    let kinds: Vec<OpKind> = [OpKind::Get, OpKind::Put, OpKind::Create, OpKind::Update, OpKind::Cas, OpKind::Delete]
        .into_iter()
        .filter(|k| store.supports(*k))
        .collect();
    let clients: Vec<_> = (0..workload.clients.max(1))
        .map(|client| {
            let client = Client {
                id: client,
                store: store.clone(),
                history: history.clone(),
                workload: workload.clone(),
                kinds: kinds.clone(),
                rng: Rng::new(workload.seed.wrapping_mul(1_000_003).wrapping_add(client as u64)),
                stopped: stopped.clone(),
            };
            tokio::spawn(client.run())
        })
        .collect();
    let joined = futures::future::join_all(clients);
    let results = match futures::future::select(pin!(stop), pin!(joined)).await {
        Either::Left(((), joined)) => {
            stopped.store(true, Ordering::SeqCst);
            joined.await
        }
        Either::Right((results, _)) => results,
    };
    let mut stats = WorkloadStats::default();
    for c in results {
        let (s, abandoned) = c.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        stats.operations += s.operations;
        stats.injected_timeouts += s.injected_timeouts;
        stats.indefinite += s.indefinite;
        stats.writes_applied += s.writes_applied;
        for call in abandoned {
            let _ = call.await;
        }
    }
    (history, stats)
}

struct Client {
    id: usize,
    store: Arc<dyn ModelStore>,
    history: Arc<History>,
    workload: Workload,
    kinds: Vec<OpKind>,
    rng: Rng,
    /// Set when the clients are to stop early.
    stopped: Arc<AtomicBool>,
}

type Call = tokio::task::JoinHandle<Result<Output, Indefinite>>;

impl Client {
    async fn run(mut self) -> (WorkloadStats, Vec<Call>) {
        let mut stats = WorkloadStats::default();
        let mut abandoned = Vec::new();
        // The last value this client saw per key: what its compare-and-swaps expect.
        let mut seen: Vec<Option<String>> = vec![None; self.workload.keys.max(1)];
        for seq in 0..self.workload.ops_per_client {
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            let k = self.rng.below(seen.len() as u64) as usize;
            let key = format!("key{k}");
            let value = format!("{}.{seq}", self.id);
            let kind = self.kinds[self.rng.below(self.kinds.len() as u64) as usize];
            let input = match kind {
                OpKind::Get => Input::Get,
                OpKind::Put => Input::Put(value),
                OpKind::Create => Input::Create(value),
                OpKind::Update => Input::Update(value),
                OpKind::Cas => {
                    let expected = seen[k].clone().unwrap_or_else(|| format!("{}.none", self.id));
                    Input::Cas { expected, new: value }
                }
                OpKind::Delete => Input::Delete,
            };
            // An injected fault: the request is slow on its way (a random delay before it is
            // sent) and the client's deadline is short (another random delay), so about half
            // of these calls are abandoned while still in flight.
            let injected = self.rng.unit() < self.workload.timeout_rate;
            let (send_delay, deadline) = if injected {
                let max = self.workload.max_injected_timeout;
                (max.mul_f64(self.rng.unit()), max.mul_f64(self.rng.unit()))
            } else {
                (Duration::ZERO, self.workload.call_timeout)
            };
            stats.operations += 1;
            let pending = self.history.invoke(self.id, key.clone(), input.clone());
            let store = self.store.clone();
            let call = async move {
                if !send_delay.is_zero() {
                    tokio::time::sleep(send_delay).await;
                }
                store.apply(&key, &input).await
            };
            let mut call: Call = tokio::spawn(call);
            match tokio::time::timeout(deadline, &mut call).await {
                Ok(Ok(Ok(output))) => {
                    if let Some(v) = written(pending.input(), &output) {
                        stats.writes_applied += 1;
                        seen[k] = v;
                    } else if let Output::Value(v) = &output {
                        seen[k] = v.clone();
                    }
                    self.history.complete(pending, output);
                }
                Ok(Ok(Err(_))) => {
                    stats.indefinite += 1;
                    self.history.abandon(pending);
                }
                Ok(Err(join)) => std::panic::resume_unwind(join.into_panic()),
                Err(_elapsed) => {
                    if injected {
                        stats.injected_timeouts += 1;
                    } else {
                        stats.indefinite += 1;
                    }
                    self.history.abandon(pending);
                    abandoned.push(call);
                }
            }
        }
        (stats, abandoned)
    }
}

/// The key's value after `input` answered `output`, when the write took effect.
fn written(input: &Input, output: &Output) -> Option<Option<String>> {
    match (input, output) {
        (Input::Put(v), Output::Done) => Some(Some(v.clone())),
        (Input::Create(v) | Input::Update(v), Output::Applied(true)) => Some(Some(v.clone())),
        (Input::Cas { new, .. }, Output::Applied(true)) => Some(Some(new.clone())),
        (Input::Delete, Output::Applied(true)) => Some(None),
        _ => None,
    }
}

/// xorshift64*: seeded, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
