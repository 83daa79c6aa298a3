//! `SchedulerConfig`: profiles, queue timing, parallelism and preemption settings.

use crate::{Profile, QueueConfig};

/// Configuration of a [`Scheduler`](super::Scheduler).
///
/// ```
/// use std::time::Duration;
/// use orch_sched::{Profile, QueueConfig, SchedulerConfig};
/// let config = SchedulerConfig::default()
///     .profile(Profile::default_profile().scheduler_name("batch"))
///     .queue(QueueConfig::default().initial_backoff(Duration::from_millis(10)))
///     .parallelism(2);
/// assert_eq!(config.profiles.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Profiles, by `schedulerName` (the default has `default-scheduler`).
    pub profiles: Vec<Profile>,
    /// Queue timing.
    pub queue: QueueConfig,
    /// Threads for Filter and Score on large clusters (`None`: the machine's cores).
    pub parallelism: Option<usize>,
    /// From how many nodes Filter and Score use several threads.
    pub parallel_threshold: Option<usize>,
    /// Seed of tie-breaking among equal scores (deterministic per seed).
    pub seed: u64,
    /// Grace period for preemption victims (`None`: each pod's own).
    pub preemption_grace_period_seconds: Option<i64>,
    /// Write `PodScheduled=False` with the reason summary on pods that cannot be placed.
    pub report_unschedulable: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            profiles: vec![Profile::default_profile()],
            queue: QueueConfig::default(),
            parallelism: None,
            parallel_threshold: None,
            seed: 1,
            preemption_grace_period_seconds: None,
            report_unschedulable: true,
        }
    }
}

impl SchedulerConfig {
    /// Adds a profile (replacing one with the same scheduler name).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profiles.retain(|p| p.scheduler_name != profile.scheduler_name);
        self.profiles.push(profile);
        self
    }
    /// Replaces every profile.
    pub fn profiles(mut self, profiles: Vec<Profile>) -> Self {
        self.profiles = profiles;
        self
    }
    /// Sets the queue timing.
    pub fn queue(mut self, queue: QueueConfig) -> Self {
        self.queue = queue;
        self
    }
    /// Sets the Filter/Score threads.
    pub fn parallelism(mut self, threads: usize) -> Self {
        self.parallelism = Some(threads);
        self
    }
    /// Sets the node count from which Filter/Score go parallel.
    pub fn parallel_threshold(mut self, nodes: usize) -> Self {
        self.parallel_threshold = Some(nodes);
        self
    }
    /// Sets the tie-breaking seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the grace period of preemption victims.
    pub fn preemption_grace_period_seconds(mut self, seconds: i64) -> Self {
        self.preemption_grace_period_seconds = Some(seconds);
        self
    }
}
