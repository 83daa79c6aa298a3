//! The pure rollout decision of a Deployment: how many replicas each of its ReplicaSets gets next.

/// What the planner needs to know about one ReplicaSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsView {
    /// Its name.
    pub name: String,
    /// `spec.replicas`.
    pub spec: i32,
    /// `status.replicas` (pods that exist).
    pub existing: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

impl RsView {
    /// Pods that may exist: the spec, or more while a scale-down is not yet observed.
    fn max_pods(&self) -> i32 {
        self.spec.max(self.existing)
    }
    /// Available pods that will remain: never more than the spec.
    fn sure_available(&self) -> i32 {
        self.available.min(self.spec).max(0)
    }
}

/// The strategy with its resolved numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Kill all old pods, then start the new ones.
    Recreate,
    /// Replace gradually within these bounds.
    RollingUpdate {
        /// Pods allowed above the desired count.
        max_surge: i32,
        /// Pods allowed to be unavailable below the desired count.
        max_unavailable: i32,
    },
}

/// New `spec.replicas` for the ReplicaSets whose count changes (the new one and the old ones,
/// oldest first in `olds`).
///
/// Rolling update bounds, at every step, with pods counted pessimistically (`max(spec, existing)`
/// for the surge, `min(spec, available)` for availability):
/// - pods never exceed `replicas + max_surge`;
/// - available pods never drop below `replicas - max_unavailable` through a scale-down we order.
///
/// A Deployment scaled down in the middle of a rollout asks its ReplicaSets for more than
/// `replicas + max_surge`; as Kubernetes does, that step only scales every ReplicaSet that has
/// replicas down in proportion to its size (see [`proportional_scale_down`]), and the rollout
/// goes on from there.
///
/// ```
/// use orch_controllers::controllers::rollout::{plan_rollout, RsView, Strategy};
/// let new = RsView { name: "new".into(), spec: 0, existing: 0, available: 0 };
/// let old = RsView { name: "old".into(), spec: 4, existing: 4, available: 4 };
/// let s = Strategy::RollingUpdate { max_surge: 1, max_unavailable: 1 };
/// // One surge pod for the new set, one old pod down.
/// assert_eq!(plan_rollout(4, s, &new, &[old]), vec![("new".to_string(), 1), ("old".to_string(), 3)]);
/// ```
pub fn plan_rollout(replicas: i32, strategy: Strategy, new: &RsView, olds: &[RsView]) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    match strategy {
        Strategy::Recreate => {
            for o in olds.iter().filter(|o| o.spec > 0) {
                out.push((o.name.clone(), 0));
            }
            let olds_gone = olds.iter().all(|o| o.spec == 0 && o.existing == 0);
            let want = if olds_gone { replicas } else { 0 };
            if new.spec != want {
                out.push((new.name.clone(), want));
            }
        }
        Strategy::RollingUpdate { max_surge, max_unavailable } => {
            let scaled = proportional_scale_down(replicas + max_surge, new, olds);
            if !scaled.is_empty() {
                return scaled;
            }
            let current: i32 = new.max_pods() + olds.iter().map(RsView::max_pods).sum::<i32>();
            let mut new_spec = new.spec;
            if new.spec > replicas {
                new_spec = replicas;
            } else if new.spec < replicas {
                let room = replicas + max_surge - current;
                if room > 0 {
                    new_spec = new.spec + room.min(replicas - new.spec);
                }
            }
            if new_spec != new.spec {
                out.push((new.name.clone(), new_spec));
            }
            let min_available = replicas - max_unavailable;
            let available: i32 = new.sure_available() + olds.iter().map(RsView::sure_available).sum::<i32>();
            let mut can_lose = (available - min_available).max(0);
            for o in olds.iter().filter(|o| o.spec > 0) {
                let unhealthy = o.spec - o.sure_available();
                let healthy_down = can_lose.min(o.sure_available());
                let down = unhealthy + healthy_down;
                can_lose -= healthy_down;
                if down > 0 {
                    out.push((o.name.clone(), o.spec - down));
                }
            }
        }
    }
    out
}

/// When the ReplicaSets ask for more than `allowed` pods in all, new counts for each one that
/// has replicas, shrunk in proportion to its size so they add up to exactly `allowed` (the
/// rounding remainder comes off the largest ones, then by name); empty when they fit.
///
/// ```
/// use orch_controllers::controllers::rollout::{proportional_scale_down, RsView};
/// let view = |name: &str, spec| RsView { name: name.into(), spec, existing: spec, available: 0 };
/// // 293 replicas mid-rollout (264 old + 176 new), then scaled to 137 with a 50% surge: 206 allowed.
/// let plan = proportional_scale_down(206, &view("new", 176), &[view("old", 264)]);
/// assert_eq!(plan, vec![("old".to_string(), 123), ("new".to_string(), 83)]);
/// ```
pub fn proportional_scale_down(allowed: i32, new: &RsView, olds: &[RsView]) -> Vec<(String, i32)> {
    let mut active: Vec<&RsView> = std::iter::once(new).chain(olds).filter(|r| r.spec > 0).collect();
    let asked: i64 = active.iter().map(|r| i64::from(r.spec)).sum();
    let allowed = i64::from(allowed.max(0));
    if asked <= allowed || active.len() < 2 {
        return Vec::new();
    }
    let remove = asked - allowed;
    active.sort_by(|a, b| b.spec.cmp(&a.spec).then_with(|| a.name.cmp(&b.name)));
    // Each share is below the set's size (remove < asked), so each can give one more for the remainder.
    let mut shares: Vec<i64> = active.iter().map(|r| i64::from(r.spec) * remove / asked).collect();
    let mut left = remove - shares.iter().sum::<i64>();
    for share in &mut shares {
        if left == 0 {
            break;
        }
        *share += 1;
        left -= 1;
    }
    active
        .iter()
        .zip(shares)
        .filter(|(_, share)| *share > 0)
        .map(|(r, share)| (r.name.clone(), r.spec - i32::try_from(share).unwrap_or(r.spec)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(name: &str, spec: i32, available: i32) -> RsView {
        RsView { name: name.into(), spec, existing: spec, available }
    }

    /// Simulates a rollout where every pod becomes available at once, checking the bounds each step.
    fn simulate(replicas: i32, surge: i32, unavailable: i32) -> usize {
        let s = Strategy::RollingUpdate { max_surge: surge, max_unavailable: unavailable };
        let (mut new, mut old) = (rs("new", 0, 0), rs("old", replicas, replicas));
        for step in 1..100 {
            for (name, n) in plan_rollout(replicas, s, &new, std::slice::from_ref(&old)) {
                let target = if name == "new" { &mut new } else { &mut old };
                target.spec = n;
                target.existing = n;
                target.available = target.available.min(n);
            }
            assert!(new.existing + old.existing <= replicas + surge, "surge exceeded at step {step}");
            assert!(new.available + old.available >= replicas - unavailable, "too few available at step {step}");
            new.available = new.spec; // pods become ready
            if new.spec == replicas && old.spec == 0 {
                return step;
            }
        }
        panic!("rollout did not finish");
    }

    #[test]
    fn rolling_update_stays_within_bounds_and_finishes() {
        for (r, s, u) in [(10, 3, 2), (4, 1, 0), (4, 0, 1), (1, 1, 0), (3, 0, 1), (10, 10, 0)] {
            assert!(simulate(r, s, u) < 30, "{r} {s} {u}");
        }
    }

    #[test]
    fn a_scale_down_in_the_middle_of_a_rollout_never_asks_for_more_than_the_surge_allows() {
        let s = Strategy::RollingUpdate { max_surge: 69, max_unavailable: 0 };
        let (new, old) = (rs("new", 176, 0), rs("old", 264, 264));
        let plan = plan_rollout(137, s, &new, std::slice::from_ref(&old));
        let total: i32 = plan.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 137 + 69, "{plan:?}");
        assert_eq!(plan, vec![("old".to_string(), 123), ("new".to_string(), 83)]);
    }

    #[test]
    fn proportional_scale_down_adds_up_exactly_and_keeps_every_set_alive() {
        for (sizes, allowed) in [(vec![5, 3, 1], 4), (vec![10, 10, 10], 7), (vec![1, 1, 1, 1], 2), (vec![100, 1], 3)] {
            let views: Vec<RsView> = sizes.iter().enumerate().map(|(i, n)| rs(&format!("rs{i}"), *n, *n)).collect();
            let plan = proportional_scale_down(allowed, &views[0], &views[1..]);
            let mut after: Vec<i32> = views.iter().map(|v| v.spec).collect();
            for (name, n) in &plan {
                let i: usize = name[2..].parse().unwrap();
                assert!(*n >= 0 && *n < after[i], "{sizes:?} → {plan:?}");
                after[i] = *n;
            }
            assert_eq!(after.iter().sum::<i32>(), allowed, "{sizes:?} → {after:?}");
        }
        let fits = [rs("a", 2, 2), rs("b", 2, 2)];
        assert!(proportional_scale_down(4, &fits[0], &fits[1..]).is_empty());
        assert!(proportional_scale_down(1, &rs("only", 9, 9), &[]).is_empty(), "one set: the rollout scales it");
    }

    #[test]
    fn recreate_waits_for_old_pods_to_go() {
        let new = rs("new", 0, 0);
        let mut old = rs("old", 3, 3);
        assert_eq!(plan_rollout(3, Strategy::Recreate, &new, std::slice::from_ref(&old)), vec![("old".to_string(), 0)]);
        old.spec = 0;
        assert!(plan_rollout(3, Strategy::Recreate, &new, std::slice::from_ref(&old)).is_empty(), "pods still exist");
        old.existing = 0;
        assert_eq!(plan_rollout(3, Strategy::Recreate, &new, &[old]), vec![("new".to_string(), 3)]);
    }
}
