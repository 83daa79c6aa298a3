//! `EventLog`: every change the store makes, in revision order, folded into a digest and into a
//! typed view of the cluster that the invariants read.

use std::collections::{BTreeMap, BTreeSet};

use futures::FutureExt;
use futures::StreamExt;
use orch_core::kinds::{Deployment, Endpoints, Node, Pod, ReplicaSet};
use orch_store::kv::{KvEventKind, KvStore, KvWatchStream, WatchMessage, WatchRequest};
use serde::de::DeserializeOwned;

/// A 64-bit FNV-1a hash, the same on every machine and run.
///
/// ```
/// use orch_tests::sim::Digest;
/// let mut a = Digest::default();
/// a.write(b"hello");
/// let mut b = Digest::default();
/// b.write(b"hello");
/// assert_eq!(a.hex(), b.hex());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    /// Folds `bytes` in.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The objects the invariants look at, as the store holds them now. Keys are
/// `namespace/name` (or the name for nodes).
#[derive(Debug, Default)]
pub struct ClusterView {
    /// Pods by `namespace/name`.
    pub pods: BTreeMap<String, Pod>,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// ReplicaSets by `namespace/name`.
    pub replica_sets: BTreeMap<String, ReplicaSet>,
    /// Deployments by `namespace/name`.
    pub deployments: BTreeMap<String, Deployment>,
    /// Endpoints by `namespace/name`.
    pub endpoints: BTreeMap<String, Endpoints>,
    /// Pod keys by the node they are bound to.
    pub pods_by_node: BTreeMap<String, BTreeSet<String>>,
    /// Pod keys by the uid of their controlling owner.
    pub pods_by_owner: BTreeMap<String, BTreeSet<String>>,
}

/// What changed in one step, for invariants that look only at what moved.
#[derive(Debug, Default)]
pub struct StepChanges {
    /// Each pod change: its state before and after (`None`: absent).
    pub pods: Vec<(Option<Pod>, Option<Pod>)>,
    /// Nodes whose object or whose bound pods changed.
    pub nodes: BTreeSet<String>,
    /// Deployments whose object or whose ReplicaSets changed, by `namespace/name`.
    pub deployments: BTreeSet<String>,
    /// Endpoints that changed, by `namespace/name`.
    pub endpoints: BTreeSet<String>,
    /// ReplicaSets whose object or whose pods changed, by `namespace/name`.
    pub replica_sets: BTreeSet<String>,
    /// Store events in this step.
    pub events: u64,
}

impl StepChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }
}

/// Reads the store's change feed directly (under every fault the components see).
pub struct EventLog {
    stream: KvWatchStream,
    digest: Digest,
    events: u64,
    view: ClusterView,
    error: Option<String>,
}

impl EventLog {
    /// Follows every key under `/registry/` from revision 1.
    ///
    /// # Errors
    /// When the store refuses the watch.
    pub async fn follow(kv: &dyn KvStore) -> Result<Self, orch_store::kv::KvError> {
        let stream = kv.watch(WatchRequest::prefix("/registry/").from_revision(1)).await?;
        Ok(EventLog { stream, digest: Digest::default(), events: 0, view: ClusterView::default(), error: None })
    }

    /// The digest of every event so far.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Folds other facts (the faults injected) into the digest.
    pub fn note(&mut self, line: &str) {
        self.digest.write(line.as_bytes());
        self.digest.write(b"\n");
    }

    /// Events read so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The cluster as of the last drain.
    pub fn view(&self) -> &ClusterView {
        &self.view
    }

    /// Why the feed broke, if it did (the simulation then fails).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Takes every event delivered so far, without waiting.
    pub fn drain(&mut self) -> StepChanges {
        let mut changes = StepChanges::default();
        while let Some(Some(msg)) = self.stream.next().now_or_never() {
            let events = match msg {
                Ok(WatchMessage::Events(evs)) => evs,
                Ok(WatchMessage::Progress { .. }) => continue,
                Err(e) => {
                    self.error.get_or_insert_with(|| format!("the change feed failed: {e}"));
                    break;
                }
            };
            for ev in events {
                self.events += 1;
                changes.events += 1;
                let put = ev.kind == KvEventKind::Put;
                self.digest.write(&ev.kv.mod_revision.to_le_bytes());
                self.digest.write(if put { b"P" } else { b"D" });
                self.digest.write(&ev.kv.key);
                self.digest.write(&ev.kv.value);
                let key = String::from_utf8_lossy(&ev.kv.key).into_owned();
                self.apply(&key, put.then_some(&ev.kv.value[..]), &mut changes);
            }
        }
        changes
    }

    fn apply(&mut self, key: &str, value: Option<&[u8]>, changes: &mut StepChanges) {
        let Some(rest) = key.strip_prefix("/registry/") else { return };
        let Some((kind, name)) = rest.split_once('/').and_then(|(g, r)| r.split_once('/').map(|(k, n)| ((g, k), n)))
        else {
            return;
        };
        let name = name.to_owned();
        match kind {
            ("core", "pods") => {
                let new: Option<Pod> = self.decode(key, value);
                let old = match &new {
                    Some(p) => self.view.pods.insert(name.clone(), p.clone()),
                    None => self.view.pods.remove(&name),
                };
                let old_node = old.as_ref().and_then(|p| p.spec.node_name.clone());
                let new_node = new.as_ref().and_then(|p| p.spec.node_name.clone());
                if old_node != new_node
                    && let Some(n) = &old_node
                    && let Some(set) = self.view.pods_by_node.get_mut(n)
                {
                    set.remove(&name);
                }
                if let Some(n) = &new_node {
                    self.view.pods_by_node.entry(n.clone()).or_default().insert(name.clone());
                }
                changes.nodes.extend(old_node);
                changes.nodes.extend(new_node);
                let ns = name.split('/').next().unwrap_or_default().to_owned();
                for p in [&old, &new].into_iter().flatten() {
                    for o in p.metadata.owner_references.iter().filter(|o| o.kind == "ReplicaSet") {
                        changes.replica_sets.insert(format!("{ns}/{}", o.name));
                        let set = self.view.pods_by_owner.entry(o.uid.clone()).or_default();
                        if new.is_some() {
                            set.insert(name.clone());
                        } else {
                            set.remove(&name);
                        }
                    }
                }
                changes.pods.push((old, new));
            }
            ("core", "nodes") => {
                match self.decode::<Node>(key, value) {
                    Some(n) => self.view.nodes.insert(name.clone(), n),
                    None => self.view.nodes.remove(&name),
                };
                changes.nodes.insert(name);
            }
            ("apps", "replicasets") => {
                let rs = match self.decode::<ReplicaSet>(key, value) {
                    Some(rs) => self.view.replica_sets.insert(name.clone(), rs.clone()).or(Some(rs)),
                    None => self.view.replica_sets.remove(&name),
                };
                changes.replica_sets.insert(name.clone());
                let ns = name.split('/').next().unwrap_or_default();
                for owner in rs.iter().flat_map(|r| r.metadata.owner_references.iter()) {
                    if owner.kind == "Deployment" {
                        changes.deployments.insert(format!("{ns}/{}", owner.name));
                    }
                }
            }
            ("apps", "deployments") => {
                match self.decode::<Deployment>(key, value) {
                    Some(d) => self.view.deployments.insert(name.clone(), d),
                    None => self.view.deployments.remove(&name),
                };
                changes.deployments.insert(name);
            }
            ("core", "endpoints") => {
                match self.decode::<Endpoints>(key, value) {
                    Some(e) => self.view.endpoints.insert(name.clone(), e),
                    None => self.view.endpoints.remove(&name),
                };
                changes.endpoints.insert(name);
            }
            _ => {}
        }
    }

    fn decode<T: DeserializeOwned>(&mut self, key: &str, value: Option<&[u8]>) -> Option<T> {
        let bytes = value?;
        match serde_json::from_slice(bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error.get_or_insert_with(|| format!("undecodable object at {key}: {e}"));
                None
            }
        }
    }
}
