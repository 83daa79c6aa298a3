//! Exponential backoff with optional deterministic jitter.

use std::time::Duration;

/// Doubling delays from `initial` up to `max`, optionally spread by up to `jitter` (a fraction)
/// using a small seeded generator, so runs are reproducible.
///
/// ```
/// use std::time::Duration;
/// use orch_controllers::Backoff;
/// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(b.next_delay(), Duration::from_millis(100));
/// assert_eq!(b.next_delay(), Duration::from_millis(200));
/// for _ in 0..10 { b.next_delay(); }
/// assert_eq!(b.next_delay(), Duration::from_secs(1));
/// b.reset();
/// assert_eq!(b.next_delay(), Duration::from_millis(100));
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Delays doubling from `initial` to `max`, no jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, jitter: 0.0, attempt: 0, rng: 0x9E37_79B9_7F4A_7C15 }
    }

    /// Adds up to `fraction` (0..=1) of random extra delay, from a generator seeded with `seed`.
    pub fn with_jitter(mut self, fraction: f64, seed: u64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self.rng = seed | 1;
        self
    }

    /// The delay for `attempt` (0-based) without jitter.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay; each call doubles the base.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.delay_for(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        if self.jitter == 0.0 {
            return base;
        }
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        base + base.mul_f64(self.jitter * r)
    }

    /// Back to the initial delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Delays handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_fraction_and_is_reproducible() {
        let mk = || Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).with_jitter(0.5, 7);
        let (mut a, mut b) = (mk(), mk());
        for _ in 0..50 {
            let d = a.next_delay();
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_millis(1500));
            assert_eq!(d, b.next_delay());
        }
    }

    #[test]
    fn huge_attempt_counts_saturate_at_max() {
        let b = Backoff::new(Duration::from_millis(5), Duration::from_secs(300));
        assert_eq!(b.delay_for(1000), Duration::from_secs(300));
    }
}
