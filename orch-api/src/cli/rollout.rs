//! `orchctl rollout status`: watches a Deployment until its rollout finishes, with a live bar on a terminal and plain lines otherwise.

use std::io::Write;

use futures::StreamExt;
use orch_core::store::WatchParams;
use orch_core::{DynamicObject, KindInfo, StoreError, WatchEvent};
use serde_json::Value;

use super::args::{Progress, RolloutStatusArgs};
use super::errors::CliError;
use super::kinds::split_kind_name;
use super::session::Session;

/// Pause before watching again after a watch ended.
const REWATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Cells of the progress bar.
const BAR_WIDTH: usize = 30;

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutState {
    /// Still going: the message and (desired, updated, available) replica counts.
    Waiting(String, [i64; 3]),
    /// Finished.
    Done(String),
    /// Cannot finish (progress deadline exceeded).
    Failed(String),
}

/// kubectl's reading of a Deployment's status: observed generation first, then updated, old and
/// available replicas.
pub fn rollout_state(d: &DynamicObject) -> RolloutState {
    let name = d.name();
    let status = d.status().cloned().unwrap_or(Value::Null);
    let n = |k: &str| status.get(k).and_then(Value::as_i64).unwrap_or(0);
    let desired = d.spec().and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
    let counts = [desired, n("updatedReplicas"), n("availableReplicas")];
    let generation = d.metadata.generation.unwrap_or(0);
    if generation > n("observedGeneration") {
        return RolloutState::Waiting("Waiting for deployment spec update to be observed...".into(), counts);
    }
    let deadline_exceeded = status.get("conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.get("type").and_then(Value::as_str) == Some("Progressing")
                && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
        })
    });
    if deadline_exceeded {
        return RolloutState::Failed(format!("deployment {name:?} exceeded its progress deadline"));
    }
    let (updated, total, available) = (n("updatedReplicas"), n("replicas"), n("availableReplicas"));
    let waiting = |what: String| {
        RolloutState::Waiting(format!("Waiting for deployment {name:?} rollout to finish: {what}..."), counts)
    };
    if updated < desired {
        return waiting(format!("{updated} out of {desired} new replicas have been updated"));
    }
    if total > updated {
        return waiting(format!("{} old replicas are pending termination", total - updated));
    }
    if available < updated {
        return waiting(format!("{available} of {updated} updated replicas are available"));
    }
    RolloutState::Done(format!("deployment {name:?} successfully rolled out"))
}

/// The bar line: `[#########---------] 3/5 updated, 2/5 available`.
pub fn progress_bar([desired, updated, available]: [i64; 3]) -> String {
    let done = updated.min(available).max(0);
    let filled = if desired <= 0 { BAR_WIDTH } else { (done.min(desired) as usize * BAR_WIDTH) / desired as usize };
    format!(
        "[{}{}] {updated}/{desired} updated, {available}/{desired} available",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled)
    )
}

/// Runs `rollout status`.
///
/// # Errors
/// `NotFound`, a kind other than Deployment, [`CliError::RolloutFailed`], or
/// [`CliError::Timeout`] when `--timeout` passes first.
pub async fn run(s: &mut Session<'_>, args: RolloutStatusArgs) -> Result<(), CliError> {
    let (kind_text, slash_name) = split_kind_name(&args.target);
    let name = slash_name.map(str::to_owned).or(args.name.clone()).ok_or_else(|| {
        CliError::InvalidArgument("rollout status needs a name: orchctl rollout status deployment/NAME".into())
    })?;
    let info = s.kind(kind_text)?;
    if info.resource_type.kind != "Deployment" {
        return Err(CliError::InvalidArgument(format!(
            "rollout status is supported for deployments, not {}",
            info.resource_type.group_resource()
        )));
    }
    let bar = match args.progress {
        Progress::Auto => s.env.terminal,
        Progress::Bar => true,
        Progress::Plain => false,
    };
    let follow = follow(s, &info, &name, args.watch, bar);
    if args.timeout.is_zero() {
        return follow.await;
    }
    match tokio::time::timeout(args.timeout, follow).await {
        Ok(result) => result,
        Err(_) => Err(CliError::Timeout(format!("deployment {name:?} rollout to finish"))),
    }
}

async fn follow(s: &mut Session<'_>, info: &KindInfo, name: &str, watch: bool, bar: bool) -> Result<(), CliError> {
    let rt = &info.resource_type;
    let ns = s.namespace.clone();
    let mut shown = Shown { bar, last: None };
    loop {
        let current = s.store.get(rt, Some(&ns), name).await?;
        if shown.show(s.out, &rollout_state(&current))? || !watch {
            return Ok(());
        }
        let params = WatchParams { resource_version: current.metadata.resource_version.clone(), ..Default::default() };
        let mut events = s.store.watch(rt, Some(&ns), &params).await?;
        while let Some(event) = events.next().await {
            let done = match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) if o.name() == name => {
                    shown.show(s.out, &rollout_state(&o))?
                }
                WatchEvent::Deleted(o) if o.name() == name => {
                    return Err(StoreError::NotFound { resource: rt.group_resource(), name: name.to_owned() }.into());
                }
                // A compacted start: read the object again and watch from there.
                WatchEvent::Error(StoreError::Gone { .. }) => break,
                WatchEvent::Error(e) => return Err(e.into()),
                _ => false,
            };
            if done {
                return Ok(());
            }
        }
        // The watch ended (a server-side timeout): read again after a pause, then watch on.
        tokio::time::sleep(REWATCH_PAUSE).await;
    }
}

/// What has been printed, so each state is shown once.
struct Shown {
    bar: bool,
    last: Option<RolloutState>,
}

impl Shown {
    /// Prints a state if it is new; `Ok(true)` when the rollout is over.
    fn show(&mut self, out: &mut (dyn Write + Send), state: &RolloutState) -> Result<bool, CliError> {
        if self.last.as_ref() == Some(state) {
            return Ok(false);
        }
        self.last = Some(state.clone());
        match state {
            RolloutState::Waiting(msg, counts) if self.bar => {
                write!(out, "\r\x1b[2K{}  {}", progress_bar(*counts), short(msg))?;
            }
            RolloutState::Waiting(msg, _) => writeln!(out, "{msg}")?,
            RolloutState::Done(msg) => {
                if self.bar {
                    write!(out, "\r\x1b[2K")?;
                }
                writeln!(out, "{msg}")?;
            }
            RolloutState::Failed(msg) => {
                if self.bar {
                    writeln!(out)?;
                }
                return Err(CliError::RolloutFailed(msg.clone()));
            }
        }
        out.flush()?;
        Ok(matches!(state, RolloutState::Done(_)))
    }
}

/// The part of a waiting message after the colon, for the bar line.
fn short(msg: &str) -> &str {
    msg.rsplit_once(": ").map_or(msg, |(_, tail)| tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, replicas: i64, status: Value) -> DynamicObject {
        DynamicObject::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": generation}, "spec": {"replicas": replicas}, "status": status}))
        .unwrap()
    }

    #[test]
    fn rollout_states_follow_kubectl_order() {
        let unobserved = deployment(2, 3, json!({"observedGeneration": 1}));
        assert!(matches!(rollout_state(&unobserved), RolloutState::Waiting(m, _) if m.contains("spec update")));
        let updating = deployment(1, 3, json!({"observedGeneration": 1, "updatedReplicas": 1, "replicas": 3}));
        assert!(
            matches!(rollout_state(&updating), RolloutState::Waiting(m, _) if m.contains("1 out of 3 new replicas"))
        );
        let old = deployment(1, 3, json!({"observedGeneration": 1, "updatedReplicas": 3, "replicas": 4}));
        assert!(matches!(rollout_state(&old), RolloutState::Waiting(m, _) if m.contains("1 old replicas")));
        let unavailable = deployment(
            1,
            3,
            json!({"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
        );
        assert!(matches!(rollout_state(&unavailable), RolloutState::Waiting(m, _) if m.contains("2 of 3 updated")));
        let done = deployment(
            1,
            3,
            json!({"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(rollout_state(&done), RolloutState::Done("deployment \"web\" successfully rolled out".into()));
        let stuck = deployment(
            1,
            3,
            json!({"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
        );
        assert!(matches!(rollout_state(&stuck), RolloutState::Failed(_)));
    }

    #[test]
    fn bar_fills_with_available_updated_replicas() {
        assert_eq!(progress_bar([3, 3, 0]), format!("[{}] 3/3 updated, 0/3 available", "-".repeat(30)));
        assert_eq!(
            progress_bar([3, 2, 1]),
            format!("[{}{}] 2/3 updated, 1/3 available", "#".repeat(10), "-".repeat(20))
        );
        assert_eq!(progress_bar([0, 0, 0]), format!("[{}] 0/0 updated, 0/0 available", "#".repeat(30)));
    }
}
