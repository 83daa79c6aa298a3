//! `RuleSync`: the proxy's view of Services and Endpoints, and what it has told the backend.

use std::collections::{BTreeSet, HashMap};

use orch_core::kinds::{Endpoints, Service};
use orch_core::{DynamicObject, Resource};

use super::{ProxyBackend, ProxyMetrics, RuleContext, ServicePortRule, desired_rules, plan_changes};

type Key = (String, String);

fn key_of(obj: &DynamicObject) -> Key {
    (obj.metadata.namespace_str().to_owned(), obj.metadata.name_str().to_owned())
}

/// Caches of both kinds and the rules in force per service; every change re-plans one service.
pub(crate) struct RuleSync {
    ctx: RuleContext,
    services: HashMap<Key, Service>,
    endpoints: HashMap<Key, Endpoints>,
    applied: HashMap<Key, Vec<ServicePortRule>>,
}

impl RuleSync {
    pub(crate) fn new(ctx: RuleContext) -> Self {
        RuleSync { ctx, services: HashMap::new(), endpoints: HashMap::new(), applied: HashMap::new() }
    }

    /// Records a Service or Endpoints object (`present` false: deleted) and re-plans its service.
    pub(crate) fn object(
        &mut self,
        kind: &str,
        obj: &DynamicObject,
        present: bool,
        b: &dyn ProxyBackend,
        m: &ProxyMetrics,
    ) {
        let key = key_of(obj);
        if kind == Service::KIND {
            match decode::<Service>(obj).filter(|_| present) {
                Some(s) => self.services.insert(key.clone(), s),
                None => self.services.remove(&key),
            };
        } else {
            match decode::<Endpoints>(obj).filter(|_| present) {
                Some(e) => self.endpoints.insert(key.clone(), e),
                None => self.endpoints.remove(&key),
            };
        }
        self.replan(&key, b, m);
    }

    /// Replaces every object of one kind (after a list) and re-plans the services touched.
    pub(crate) fn reset(&mut self, kind: &str, items: &[DynamicObject], b: &dyn ProxyBackend, m: &ProxyMetrics) {
        let mut touched: BTreeSet<Key> = BTreeSet::new();
        if kind == Service::KIND {
            touched.extend(self.services.drain().map(|(k, _)| k));
            for o in items {
                if let Some(s) = decode::<Service>(o) {
                    touched.insert(key_of(o));
                    self.services.insert(key_of(o), s);
                }
            }
        } else {
            touched.extend(self.endpoints.drain().map(|(k, _)| k));
            for o in items {
                if let Some(e) = decode::<Endpoints>(o) {
                    touched.insert(key_of(o));
                    self.endpoints.insert(key_of(o), e);
                }
            }
        }
        for key in &touched {
            self.replan(key, b, m);
        }
    }

    fn replan(&mut self, key: &Key, b: &dyn ProxyBackend, m: &ProxyMetrics) {
        let desired = match self.services.get(key) {
            Some(svc) => desired_rules(svc, self.endpoints.get(key), &self.ctx),
            None => Vec::new(),
        };
        let current = self.applied.remove(key).unwrap_or_default();
        let (upserts, removes) = plan_changes(&current, &desired);
        for k in &removes {
            b.remove(k);
        }
        let mut in_force: Vec<ServicePortRule> =
            current.into_iter().filter(|c| desired.iter().any(|d| d.key == c.key)).collect();
        for rule in upserts {
            in_force.retain(|r| r.key != rule.key);
            match b.upsert(rule.clone()) {
                // Recorded only when fully applied, so the next event for this service retries.
                Ok(()) => in_force.push(rule),
                Err(e) => {
                    m.sync_error();
                    tracing::warn!(service = %rule.key, error = %e, "proxy rule not fully applied");
                }
            }
        }
        if !in_force.is_empty() {
            self.applied.insert(key.clone(), in_force);
        }
    }
}

fn decode<K: Resource>(obj: &DynamicObject) -> Option<K> {
    match obj.to_typed::<K>() {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::warn!(kind = K::KIND, name = obj.metadata.name_str(), error = %e, "undecodable object ignored");
            None
        }
    }
}
