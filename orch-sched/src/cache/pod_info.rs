//! `PodInfo`: a pod with everything the plugins need precomputed (key, requests, affinity terms).

use std::collections::BTreeSet;
use std::sync::Arc;

use orch_core::kinds::{Pod, PodAffinityTerm};
use orch_core::{LabelSelector, Selector};

use super::Resources;

/// A parsed pod (anti-)affinity term: which pods, in which namespaces, over which topology key.
#[derive(Clone, Debug, PartialEq)]
pub struct AffinityTerm {
    /// Pods whose labels match; `None` (no selector in the term) matches no pod.
    pub selector: Option<Selector>,
    /// Namespaces to look in; empty with `all_namespaces == false` means the pod's own.
    pub namespaces: BTreeSet<String>,
    /// An empty `namespaceSelector` (`{}`) selects every namespace.
    pub all_namespaces: bool,
    /// Node label that defines the domain.
    pub topology_key: String,
}

impl AffinityTerm {
    fn parse(term: &PodAffinityTerm, own_namespace: &str) -> Result<Self, String> {
        let selector = match &term.label_selector {
            None => None,
            Some(s) => Some(s.to_selector().map_err(|e| format!("labelSelector: {e}"))?),
        };
        let all_namespaces = term.namespace_selector.as_ref().is_some_and(LabelSelector::is_empty);
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(own_namespace.to_owned());
        }
        Ok(AffinityTerm { selector, namespaces, all_namespaces, topology_key: term.topology_key.clone() })
    }

    /// Whether `pod` is one of the pods this term selects.
    pub fn matches(&self, pod: &Pod) -> bool {
        let Some(selector) = &self.selector else { return false };
        (self.all_namespaces || self.namespaces.contains(pod.metadata.namespace_str()))
            && selector.matches(&pod.metadata.labels)
    }
}

/// A weighted (preferred) affinity term.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedAffinityTerm {
    /// Weight 1..100.
    pub weight: i64,
    /// The term.
    pub term: AffinityTerm,
}

/// A pod as the scheduler sees it: the object plus values computed once when it enters the
/// queue or the cache, so the Filter and Score hot paths do no parsing.
///
/// ```
/// use orch_core::{ObjectMeta, kinds::Pod};
/// use orch_sched::PodInfo;
/// let pod = Pod { metadata: ObjectMeta::named("web").in_namespace("default"), ..Default::default() };
/// let info = PodInfo::new(pod);
/// assert_eq!(info.key, "default/web");
/// assert!(info.requests.is_zero());
/// ```
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod.
    pub pod: Arc<Pod>,
    /// `namespace/name`.
    pub key: String,
    /// The effective resource request.
    pub requests: Resources,
    /// CPU (millicores) and memory (bytes) with defaults for request-less containers, for scoring.
    pub non_zero: (i64, i64),
    /// `spec.priority` (0 when unset).
    pub priority: i32,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    /// Problems found parsing the pod's scheduling constraints (malformed selectors); the
    /// plugin that needs the constraint reports it as unresolvable.
    pub parse_errors: Vec<String>,
}

impl PodInfo {
    /// Computes the scheduler's view of `pod`.
    pub fn new(pod: impl Into<Arc<Pod>>) -> Self {
        let pod: Arc<Pod> = pod.into();
        let key = format!("{}/{}", pod.metadata.namespace_str(), pod.metadata.name_str());
        let ns = pod.metadata.namespace_str().to_owned();
        let mut errors = Vec::new();
        let mut required = |terms: &[PodAffinityTerm]| -> Vec<AffinityTerm> {
            terms.iter().filter_map(|t| AffinityTerm::parse(t, &ns).map_err(|e| errors.push(e)).ok()).collect()
        };
        let affinity = pod.spec.affinity.as_ref();
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required_affinity =
            pa.map(|p| required(&p.required_during_scheduling_ignored_during_execution)).unwrap_or_default();
        let required_anti_affinity =
            paa.map(|p| required(&p.required_during_scheduling_ignored_during_execution)).unwrap_or_default();
        let mut preferred = |p: Option<&orch_core::kinds::PodAffinity>| -> Vec<WeightedAffinityTerm> {
            let Some(p) = p else { return Vec::new() };
            p.preferred_during_scheduling_ignored_during_execution
                .iter()
                .filter_map(|w| match AffinityTerm::parse(&w.pod_affinity_term, &ns) {
                    Ok(term) => Some(WeightedAffinityTerm { weight: i64::from(w.weight), term }),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                })
                .collect()
        };
        let preferred_affinity = preferred(pa);
        let preferred_anti_affinity = preferred(paa);
        PodInfo {
            requests: Resources::of_pod(&pod),
            non_zero: Resources::non_zero_of_pod(&pod),
            priority: pod.spec.priority.unwrap_or(0),
            key,
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
            parse_errors: errors,
            pod,
        }
    }

    /// The node the pod is bound to, if any.
    pub fn node_name(&self) -> Option<&str> {
        self.pod.spec.node_name.as_deref().filter(|n| !n.is_empty())
    }

    /// Whether the pod has any pod affinity or anti-affinity term.
    pub fn has_affinity(&self) -> bool {
        !self.required_affinity.is_empty()
            || !self.required_anti_affinity.is_empty()
            || !self.preferred_affinity.is_empty()
            || !self.preferred_anti_affinity.is_empty()
    }

    /// A copy of this info for the pod bound to `node` (what the cache assumes).
    pub fn bound_to(&self, node: &str) -> PodInfo {
        let mut pod = (*self.pod).clone();
        pod.spec.node_name = Some(node.to_owned());
        PodInfo { pod: Arc::new(pod), ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::kinds::{Affinity, PodAffinity};
    use orch_core::{LabelSelectorRequirement, ObjectMeta};

    fn term(
        selector: Option<LabelSelector>,
        namespaces: &[&str],
        ns_selector: Option<LabelSelector>,
    ) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: selector,
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            namespace_selector: ns_selector,
            topology_key: "zone".into(),
        }
    }

    fn pod(ns: &str, app: &str) -> Pod {
        Pod { metadata: ObjectMeta::named("p").in_namespace(ns).with_label("app", app), ..Default::default() }
    }

    #[test]
    fn affinity_term_matching_respects_selector_and_namespaces() {
        let web =
            Some(LabelSelector { match_labels: [("app".to_owned(), "web".to_owned())].into(), ..Default::default() });
        let cases = [
            (term(web.clone(), &[], None), pod("a", "web"), true),
            (term(web.clone(), &[], None), pod("b", "web"), false),
            (term(web.clone(), &["b"], None), pod("b", "web"), true),
            (term(web.clone(), &[], Some(LabelSelector::default())), pod("z", "web"), true),
            (term(web.clone(), &[], None), pod("a", "db"), false),
            (term(None, &[], None), pod("a", "web"), false),
        ];
        for (i, (t, p, want)) in cases.into_iter().enumerate() {
            let parsed = AffinityTerm::parse(&t, "a").expect("valid");
            assert_eq!(parsed.matches(&p), want, "case {i}");
        }
    }

    #[test]
    fn malformed_selector_is_recorded_not_panicked() {
        let bad = LabelSelector {
            match_expressions: vec![LabelSelectorRequirement {
                key: "k".into(),
                operator: "Bogus".into(),
                values: vec![],
            }],
            ..Default::default()
        };
        let mut p = pod("a", "web");
        p.spec.affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: vec![term(Some(bad), &[], None)],
                ..Default::default()
            }),
            ..Default::default()
        });
        let info = PodInfo::new(p);
        assert_eq!(info.parse_errors.len(), 1);
        assert!(info.required_anti_affinity.is_empty());
    }
}
