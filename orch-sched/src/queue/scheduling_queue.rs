//! `SchedulingQueue`: the active heap, the backoff queue and the unschedulable pool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use orch_core::Timestamp;

use super::{ActiveHeap, QueuedPodInfo};
use crate::{PodInfo, QueueSortPlugin};

/// Timing of the queue (Kubernetes' defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Backoff after the first failure (1 s); it doubles per attempt.
    pub initial_backoff: Duration,
    /// Largest backoff (10 s).
    pub max_backoff: Duration,
    /// How long a pod stays in the unschedulable pool without a relevant event (5 min).
    pub max_unschedulable_duration: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_unschedulable_duration: Duration::from_secs(300),
        }
    }
}

impl QueueConfig {
    /// Sets the initial backoff.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }
    /// Sets the largest backoff.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Sets the unschedulable pool's flush interval.
    pub fn max_unschedulable_duration(mut self, d: Duration) -> Self {
        self.max_unschedulable_duration = d;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Active(u64),
    Backoff(Timestamp, u64),
    Unschedulable(Timestamp, u64),
}

struct Slot {
    place: Place,
    info: Arc<QueuedPodInfo>,
}

struct InFlight {
    cycle: u64,
    updated: Option<Arc<PodInfo>>,
    deleted: bool,
}

/// Where pods wait to be scheduled. Pure bookkeeping: every call takes `now`, so a
/// [`ManualClock`](orch_core::ManualClock) drives it in tests.
///
/// - **active**: a heap in QueueSort order (priority, then age); [`pop`](Self::pop) takes the top.
/// - **backoff**: pods that failed wait `initial_backoff * 2^(attempts-1)` (at most `max_backoff`).
/// - **unschedulable**: pods no node fits wait for a cluster event one of their rejecting plugins
///   cares about ([`move_on_event`](Self::move_on_event)), or for `max_unschedulable_duration`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use orch_core::{ObjectMeta, Timestamp, kinds::Pod};
/// use orch_sched::{PodInfo, QueueConfig, SchedulingQueue, plugins::PrioritySort};
/// let mut q = SchedulingQueue::new(QueueConfig::default(), Arc::new(PrioritySort));
/// let t0 = Timestamp::from_unix(1000, 0);
/// let pod = |name: &str, prio| { let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("ns"), ..Default::default() };
///     p.spec.priority = Some(prio); Arc::new(PodInfo::new(p)) };
/// q.add(pod("low", 0), t0);
/// q.add(pod("high", 10), t0);
/// let first = q.pop(t0).unwrap();
/// assert_eq!(first.key(), "ns/high");
/// q.requeue_backoff(first, t0);                       // failed: backs off 1 s
/// assert_eq!(q.pop(t0).unwrap().key(), "ns/low");
/// assert!(q.pop(t0).is_none());
/// q.flush(t0 + Duration::from_secs(1));
/// assert_eq!(q.pop(t0 + Duration::from_secs(1)).unwrap().key(), "ns/high");
/// ```
pub struct SchedulingQueue {
    config: QueueConfig,
    active: ActiveHeap,
    backoff: BTreeMap<(Timestamp, u64), String>,
    unschedulable: BTreeMap<(Timestamp, u64), String>,
    pods: HashMap<String, Slot>,
    in_flight: HashMap<String, InFlight>,
    seq: u64,
    cycle: u64,
    move_request_cycle: u64,
}

impl SchedulingQueue {
    /// An empty queue ordered by `sort`.
    pub fn new(config: QueueConfig, sort: Arc<dyn QueueSortPlugin>) -> Self {
        SchedulingQueue {
            config,
            active: ActiveHeap::new(sort),
            backoff: BTreeMap::new(),
            unschedulable: BTreeMap::new(),
            pods: HashMap::new(),
            in_flight: HashMap::new(),
            seq: 0,
            cycle: 0,
            move_request_cycle: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn unplace(&mut self, key: &str) -> Option<Arc<QueuedPodInfo>> {
        let slot = self.pods.remove(key)?;
        match slot.place {
            Place::Active(_) => {}
            Place::Backoff(t, s) => {
                self.backoff.remove(&(t, s));
            }
            Place::Unschedulable(t, s) => {
                self.unschedulable.remove(&(t, s));
            }
        }
        Some(slot.info)
    }

    fn place_active(&mut self, info: Arc<QueuedPodInfo>) {
        let seq = self.next_seq();
        self.active.push(seq, info.clone());
        self.pods.insert(info.key().to_owned(), Slot { place: Place::Active(seq), info });
    }

    fn place_backoff(&mut self, info: Arc<QueuedPodInfo>) {
        let seq = self.next_seq();
        let until = self.backoff_expiry(&info);
        self.backoff.insert((until, seq), info.key().to_owned());
        self.pods.insert(info.key().to_owned(), Slot { place: Place::Backoff(until, seq), info });
    }

    fn place_unschedulable(&mut self, info: Arc<QueuedPodInfo>, now: Timestamp) {
        let seq = self.next_seq();
        self.unschedulable.insert((now, seq), info.key().to_owned());
        self.pods.insert(info.key().to_owned(), Slot { place: Place::Unschedulable(now, seq), info });
    }

    /// The backoff of a pod after `attempts` failed attempts.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.config.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d >= self.config.max_backoff {
                return self.config.max_backoff;
            }
        }
        d.min(self.config.max_backoff)
    }

    fn backoff_expiry(&self, info: &QueuedPodInfo) -> Timestamp {
        info.timestamp + self.backoff_duration(info.attempts)
    }

    /// Adds a new pod to the active queue, or updates a queued one (an update moves an
    /// unschedulable pod back to active or backoff). A pod being scheduled keeps the update for
    /// when it returns.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Timestamp) {
        if let Some(f) = self.in_flight.get_mut(&pod.key) {
            f.updated = Some(pod);
            return;
        }
        if let Some(slot) = self.pods.get_mut(&pod.key) {
            let (a, b) = (&slot.info.pod.pod, &pod.pod);
            let unchanged = a.spec == b.spec
                && a.metadata.labels == b.metadata.labels
                && a.metadata.annotations == b.metadata.annotations
                && a.metadata.deletion_timestamp == b.metadata.deletion_timestamp;
            if unchanged {
                // A status-only change (our own PodScheduled condition) does not retry the pod.
                let mut info = (*slot.info).clone();
                info.pod = pod;
                slot.info = Arc::new(info);
                return;
            }
        }
        match self.unplace(&pod.key) {
            None => self.place_active(Arc::new(QueuedPodInfo::new(pod, now))),
            Some(old) => {
                let mut info = (*old).clone();
                info.pod = pod;
                info.gated_by = None;
                if info.attempts == 0 || self.backoff_expiry(&info) <= now {
                    self.place_active(Arc::new(info));
                } else {
                    self.place_backoff(Arc::new(info));
                }
            }
        }
    }

    /// Parks a pod a PreEnqueue plugin rejected; only an update of the pod moves it.
    pub fn add_gated(&mut self, pod: Arc<PodInfo>, plugin: &str, now: Timestamp) {
        let mut info = match self.unplace(&pod.key) {
            Some(old) => (*old).clone(),
            None => QueuedPodInfo::new(pod.clone(), now),
        };
        info.pod = pod;
        info.gated_by = Some(plugin.to_owned());
        self.place_unschedulable(Arc::new(info), now);
    }

    /// Removes a pod wherever it is (it was deleted or bound elsewhere).
    pub fn delete(&mut self, key: &str) {
        self.unplace(key);
        if let Some(f) = self.in_flight.get_mut(key) {
            f.deleted = true;
        }
    }

    /// Takes the next pod to schedule; it counts as in flight until it is requeued or
    /// [`done`](Self::done).
    pub fn pop(&mut self, _now: Timestamp) -> Option<QueuedPodInfo> {
        while let Some((seq, info)) = self.active.pop() {
            let current = self.pods.get(info.key()).is_some_and(|s| s.place == Place::Active(seq));
            if !current {
                continue;
            }
            let info = self.pods.remove(info.key()).map_or(info, |slot| slot.info);
            self.cycle += 1;
            self.in_flight.insert(info.key().to_owned(), InFlight { cycle: self.cycle, updated: None, deleted: false });
            let mut info = (*info).clone();
            info.attempts += 1;
            return Some(info);
        }
        None
    }

    /// The pod's scheduling attempt ended with it placed (or gone); it leaves the queue.
    pub fn done(&mut self, key: &str) {
        self.in_flight.remove(key);
    }

    /// Whether a popped pod's attempt is still running.
    pub fn is_in_flight(&self, key: &str) -> bool {
        self.in_flight.contains_key(key)
    }

    /// Takes the pod out of flight; `None` if it was deleted meanwhile, else the latest version.
    fn land(&mut self, mut info: QueuedPodInfo, now: Timestamp) -> Option<(QueuedPodInfo, u64, bool)> {
        let flight = self.in_flight.remove(info.key());
        let (cycle, updated, deleted) = match flight {
            Some(f) => (f.cycle, f.updated, f.deleted),
            None => (0, None, false),
        };
        if deleted || self.pods.contains_key(info.key()) {
            return None;
        }
        let changed = updated.is_some();
        if let Some(p) = updated {
            info.pod = p;
        }
        info.timestamp = now;
        Some((info, cycle, changed))
    }

    /// Returns a pod no node fitted, with the plugins that rejected it: to the unschedulable
    /// pool, or to backoff if a cluster event arrived while it was being scheduled (or the pod
    /// itself changed).
    pub fn requeue_unschedulable(&mut self, info: QueuedPodInfo, plugins: BTreeSet<String>, now: Timestamp) {
        let Some((mut info, cycle, changed)) = self.land(info, now) else { return };
        info.unschedulable_plugins = plugins;
        if changed || self.move_request_cycle >= cycle {
            self.place_backoff(Arc::new(info));
        } else {
            self.place_unschedulable(Arc::new(info), now);
        }
    }

    /// Returns a pod whose attempt failed for another reason (an error, a failed bind) to backoff.
    pub fn requeue_backoff(&mut self, info: QueuedPodInfo, now: Timestamp) {
        if let Some((info, _, _)) = self.land(info, now) {
            self.place_backoff(Arc::new(info));
        }
    }

    /// Moves unschedulable pods for which `interested` holds to active (or backoff, if their
    /// backoff has not passed). Gated pods stay. Later requeues of pods in flight go to backoff.
    pub fn move_on_event(&mut self, now: Timestamp, interested: impl Fn(&QueuedPodInfo) -> bool) -> usize {
        self.move_request_cycle = self.cycle;
        let keys: Vec<String> = self
            .unschedulable
            .values()
            .filter(|k| self.pods.get(*k).is_some_and(|s| s.info.gated_by.is_none() && interested(&s.info)))
            .cloned()
            .collect();
        for k in &keys {
            self.reactivate(k, now);
        }
        keys.len()
    }

    fn reactivate(&mut self, key: &str, now: Timestamp) {
        let Some(info) = self.unplace(key) else { return };
        if self.backoff_expiry(&info) <= now {
            self.place_active(info);
        } else {
            self.place_backoff(info);
        }
    }

    /// Moves pods whose backoff has passed to active, and pods unschedulable for longer than
    /// `max_unschedulable_duration` back to active (or backoff).
    pub fn flush(&mut self, now: Timestamp) {
        while let Some((&(t, s), _)) = self.backoff.first_key_value() {
            if t > now {
                break;
            }
            if let Some(key) = self.backoff.remove(&(t, s))
                && let Some(slot) = self.pods.remove(&key)
            {
                self.place_active(slot.info);
            }
        }
        let limit = self.config.max_unschedulable_duration;
        let stale: Vec<String> =
            self.unschedulable.iter().take_while(|((t, _), _)| *t + limit <= now).map(|(_, k)| k.clone()).collect();
        for k in stale {
            if self.pods.get(&k).is_some_and(|s| s.info.gated_by.is_none()) {
                self.reactivate(&k, now);
            }
        }
    }

    /// When [`flush`](Self::flush) next has work: the earliest backoff expiry or unschedulable timeout.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let b = self.backoff.keys().next().map(|(t, _)| *t);
        let u = self
            .unschedulable
            .iter()
            .find(|(_, k)| self.pods.get(*k).is_some_and(|s| s.info.gated_by.is_none()))
            .map(|((t, _), _)| *t + self.config.max_unschedulable_duration);
        match (b, u) {
            (Some(b), Some(u)) => Some(b.min(u)),
            (b, u) => b.or(u),
        }
    }

    /// Whether the pod is queued (anywhere) or in flight.
    pub fn contains(&self, key: &str) -> bool {
        self.pods.contains_key(key) || self.in_flight.contains_key(key)
    }

    /// Keys of every queued pod (not in flight).
    pub fn keys(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    /// Pods ready to pop (approximate: counts entries in the active heap that are current).
    pub fn active_len(&self) -> usize {
        self.pods.values().filter(|s| matches!(s.place, Place::Active(_))).count()
    }

    /// Pods backing off.
    pub fn backoff_len(&self) -> usize {
        self.backoff.len()
    }

    /// Pods in the unschedulable pool.
    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable.len()
    }

    /// Whether the active heap has entries (possibly stale).
    pub fn has_active(&self) -> bool {
        self.active.len() > 0
    }
}

#[cfg(test)]
#[path = "scheduling_queue_tests.rs"]
mod tests;
