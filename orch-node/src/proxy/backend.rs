//! `ProxyBackend`: the data-path contract ("serve these frontends, forward to these backends").

use super::{ProxyError, ServicePortKey, ServicePortRule};

/// A data path that forwards service frontends to backends, programmed one service port at a time.
///
/// The [`ServiceProxy`](super::ServiceProxy) computes the desired rules from Services and
/// Endpoints and calls `upsert` for each new or changed rule and `remove` for each rule that
/// went away. [`UserspaceBackend`](super::UserspaceBackend) forwards in this process on tokio;
/// a kernel backend (nftables) can implement the same trait.
///
/// # Guarantees
/// - `upsert` is idempotent; calling it with the rule already in force changes nothing.
/// - Updating a rule keeps the connections to endpoints that stay in `backends` open; those to
///   endpoints that left are closed; new connections use the new set at once.
/// - `remove` of an unknown key does nothing.
///
/// # Errors
/// `upsert` reports frontends it could not serve ([`ProxyError::Bind`]); the other frontends of
/// the rule are served regardless, and a later `upsert` retries the failed ones.
///
/// # Example
/// ```
/// use std::sync::Mutex;
/// use orch_node::proxy::{ProxyBackend, ProxyError, ServicePortKey, ServicePortRule};
///
/// /// Records the rules instead of forwarding (a dry run).
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<ServicePortRule>>);
///
/// impl ProxyBackend for Recorder {
///     fn upsert(&self, rule: ServicePortRule) -> Result<(), ProxyError> {
///         let mut rules = self.0.lock().unwrap();
///         rules.retain(|r| r.key != rule.key);
///         rules.push(rule);
///         Ok(())
///     }
///     fn remove(&self, key: &ServicePortKey) {
///         self.0.lock().unwrap().retain(|r| &r.key != key);
///     }
///     fn rules(&self) -> Vec<ServicePortRule> {
///         self.0.lock().unwrap().clone()
///     }
/// }
/// let backend: Box<dyn ProxyBackend> = Box::new(Recorder::default());
/// assert!(backend.rules().is_empty());
/// ```
pub trait ProxyBackend: Send + Sync {
    /// Serves `rule.frontends` and forwards new connections to `rule.backends`, replacing any
    /// earlier rule with the same key.
    fn upsert(&self, rule: ServicePortRule) -> Result<(), ProxyError>;

    /// Stops serving a service port: closes its frontends and its connections.
    fn remove(&self, key: &ServicePortKey);

    /// The rules in force.
    fn rules(&self) -> Vec<ServicePortRule>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn ProxyBackend) {}
