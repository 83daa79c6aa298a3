//! `MvccConfig`: limits of the MVCC core.

/// Limits the core enforces on every write.
///
/// ```
/// use orch_store::mvcc::MvccConfig;
/// let c = MvccConfig::default().max_value_size(1024);
/// assert_eq!(c.max_value_size, 1024);
/// assert_eq!(MvccConfig::default().max_value_size, 1536 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MvccConfig {
    /// Largest value accepted, in bytes (etcd's default request limit: 1.5 MiB).
    pub max_value_size: usize,
}

impl Default for MvccConfig {
    fn default() -> Self {
        MvccConfig { max_value_size: 1536 * 1024 }
    }
}

impl MvccConfig {
    /// Sets the largest value accepted.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }
}
