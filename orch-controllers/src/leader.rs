//! Leader election over a `Lease` object, with the store's optimistic concurrency.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{Either, select};
use orch_core::kinds::{Lease, LeaseSpec};
use orch_core::{Api, ObjectMeta, ObjectStore, StoreError, Timestamp};

use crate::{Latch, Runtime};

/// Settings of a [`LeaderElector`] (Kubernetes' defaults: 15 s / 10 s / 2 s).
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// Name of the Lease object.
    pub lease_name: String,
    /// Namespace of the Lease object.
    pub lease_namespace: String,
    /// This candidate's identity (unique among candidates).
    pub identity: String,
    /// How long a lease not renewed keeps other candidates away.
    pub lease_duration: Duration,
    /// A leader that could not renew for this long stops leading (must be < `lease_duration`).
    pub renew_deadline: Duration,
    /// Pause between attempts to acquire or renew (must be < `renew_deadline`).
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Defaults for lease `name` in `kube-system`, as candidate `identity`.
    pub fn new(name: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaderElectionConfig {
            lease_name: name.into(),
            lease_namespace: "kube-system".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// Sets the three timings.
    pub fn timings(mut self, lease_duration: Duration, renew_deadline: Duration, retry_period: Duration) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry_period;
        self
    }

    /// Sets the lease namespace.
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.lease_namespace = ns.into();
        self
    }
}

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderElectionError {
    /// The timings cannot guarantee a single leader.
    #[error("invalid timings: {0}")]
    InvalidTimings(&'static str),
    /// The identity is empty.
    #[error("the identity must not be empty")]
    EmptyIdentity,
}

/// How a term of leadership ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermEnd {
    /// The lease could not be renewed in time, or another candidate holds it.
    Lost,
    /// `stop` was set.
    Stopped,
}

/// The last lease record seen and when (by the local clock) it was first seen.
struct Observed {
    spec: LeaseSpec,
    at: Timestamp,
}

/// A candidate for leadership.
///
/// Safety: another candidate takes over only after observing the same record unchanged for
/// `lease_duration` on its own clock; the leader gives up `renew_deadline` after its last
/// successful renew started. With `renew_deadline < lease_duration` and the leader stopping its
/// work at once when it gives up ([`ControllerManager`](crate::manager::ControllerManager) aborts
/// reconciles in flight), two leaders are never active together.
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::leader::{LeaderElectionConfig, LeaderElector};
/// use orch_controllers::{Latch, Runtime};
/// use orch_core::ObjectStore;
///
/// async fn lead(store: Arc<dyn ObjectStore>, rt: Runtime, stop: Latch) {
///     let cfg = LeaderElectionConfig::new("my-controllers", "pod-a");
///     let elector = LeaderElector::new(store, cfg, rt).expect("valid timings");
///     if elector.acquire(&stop).await {
///         let _end = elector.hold(&stop).await; // renew until lost or stopped
///         elector.release().await;
///     }
/// }
/// ```
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    rt: Runtime,
    observed: Mutex<Option<Observed>>,
}

impl LeaderElector {
    /// A candidate.
    ///
    /// # Errors
    /// `InvalidTimings` unless `retry_period < renew_deadline < lease_duration`; `EmptyIdentity`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        config: LeaderElectionConfig,
        rt: Runtime,
    ) -> Result<Self, LeaderElectionError> {
        if config.renew_deadline >= config.lease_duration {
            return Err(LeaderElectionError::InvalidTimings("renew_deadline must be shorter than lease_duration"));
        }
        if config.retry_period >= config.renew_deadline {
            return Err(LeaderElectionError::InvalidTimings("retry_period must be shorter than renew_deadline"));
        }
        if config.identity.is_empty() {
            return Err(LeaderElectionError::EmptyIdentity);
        }
        let api = Api::namespaced(store, &config.lease_namespace);
        Ok(LeaderElector { api, config, rt, observed: Mutex::new(None) })
    }

    /// The settings.
    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// One attempt: acquires a free or expired lease, or renews our own. `Ok(false)` when another
    /// candidate holds a live lease or won a race for it.
    ///
    /// # Errors
    /// Store failures other than `Conflict`/`AlreadyExists` (which mean "lost the race").
    pub async fn try_acquire_or_renew(&self) -> Result<bool, StoreError> {
        let now = self.rt.clock.now();
        let me = self.config.identity.as_str();
        let secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX).max(1);
        let Some(lease) = self.api.get_opt(&self.config.lease_name).await? else {
            let lease = Lease {
                metadata: ObjectMeta::named(&self.config.lease_name),
                spec: LeaseSpec {
                    holder_identity: Some(me.to_owned()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(now),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                },
            };
            return match self.api.create(&lease).await {
                Ok(_) => Ok(true),
                Err(StoreError::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(e),
            };
        };
        let observed_at = {
            let mut obs = self.observed.lock().unwrap_or_else(|e| e.into_inner());
            match obs.as_ref() {
                Some(o) if o.spec == lease.spec => o.at,
                _ => {
                    *obs = Some(Observed { spec: lease.spec.clone(), at: now });
                    now
                }
            }
        };
        let holder = lease.spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let held_by_me = holder == Some(me);
        let duration = lease
            .spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .unwrap_or(self.config.lease_duration);
        if holder.is_some() && !held_by_me && observed_at + duration > now {
            return Ok(false);
        }
        let mut next = lease.clone();
        next.spec.renew_time = Some(now);
        next.spec.lease_duration_seconds = Some(secs);
        if !held_by_me {
            next.spec.holder_identity = Some(me.to_owned());
            next.spec.acquire_time = Some(now);
            next.spec.lease_transitions = Some(lease.spec.lease_transitions.unwrap_or(0) + 1);
        }
        match self.api.update(&next).await {
            Ok(written) => {
                *self.observed.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Observed { spec: written.spec, at: now });
                Ok(true)
            }
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Tries every `retry_period` until this candidate leads (`true`) or `stop` is set (`false`).
    pub async fn acquire(&self, stop: &Latch) -> bool {
        loop {
            if stop.is_set() {
                return false;
            }
            if let Some(Ok(true)) = self.rt.timeout(self.config.retry_period, self.try_acquire_or_renew()).await {
                return true;
            }
            let pause = std::pin::pin!(self.rt.clock.sleep(self.config.retry_period));
            if let Either::Right(_) = select(pause, stop.wait()).await {
                return false;
            }
        }
    }

    /// While leading: renews every `retry_period`; returns `Lost` as soon as a renew is refused or
    /// `renew_deadline` has passed since the last successful renew began, `Stopped` on `stop`.
    pub async fn hold(&self, stop: &Latch) -> TermEnd {
        let mut last_renew = self.rt.clock.now();
        loop {
            let pause = std::pin::pin!(self.rt.clock.sleep(self.config.retry_period));
            if let Either::Right(_) = select(pause, stop.wait()).await {
                return TermEnd::Stopped;
            }
            let started = self.rt.clock.now();
            let deadline = last_renew + self.config.renew_deadline;
            let remaining = deadline.saturating_duration_since(started);
            if remaining.is_zero() {
                return TermEnd::Lost;
            }
            match self.rt.timeout(remaining, self.try_acquire_or_renew()).await {
                Some(Ok(true)) => last_renew = started,
                Some(Ok(false)) => return TermEnd::Lost,
                Some(Err(_)) | None => {
                    if self.rt.clock.now() >= deadline {
                        return TermEnd::Lost;
                    }
                }
            }
        }
    }

    /// Gives the lease up (if still ours) so another candidate can take over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.lease_name).await else { return };
        if lease.spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        lease.spec.holder_identity = None;
        lease.spec.lease_duration_seconds = Some(1);
        let _ = self.api.update(&lease).await;
    }
}
