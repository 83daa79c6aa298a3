//! `orchctl scale`: sets `spec.replicas` of a Deployment or ReplicaSet (read, change, update at the read resourceVersion).

use orch_core::StoreError;
use orch_core::store::WriteOptions;
use serde_json::{Value, json};

use super::args::ScaleArgs;
use super::errors::CliError;
use super::kinds::{object_label, split_kind_name};
use super::session::Session;

/// How many times a write that lost a race with another writer is retried.
const CONFLICT_RETRIES: usize = 3;

/// Runs `scale`, printing `deployment.apps/web scaled`.
///
/// # Errors
/// A kind without replicas, a failed `--current-replicas` precondition, or the server's error.
pub async fn run(s: &mut Session<'_>, args: ScaleArgs) -> Result<(), CliError> {
    if args.replicas < 0 {
        return Err(CliError::InvalidArgument("--replicas must be 0 or more".into()));
    }
    let (kind_text, slash_name) = split_kind_name(&args.target);
    let name = slash_name.map(str::to_owned).or(args.name.clone()).ok_or_else(|| {
        CliError::InvalidArgument("scale needs a name: orchctl scale deployment/NAME --replicas=N".into())
    })?;
    let info = s.kind(kind_text)?;
    let rt = &info.resource_type;
    if !matches!((rt.group.as_ref(), rt.kind.as_ref()), ("apps", "Deployment" | "ReplicaSet")) {
        return Err(CliError::InvalidArgument(format!("{} cannot be scaled", rt.group_resource())));
    }
    let ns = s.namespace_for(&info).map(str::to_owned);
    let mut attempt = 0;
    loop {
        let mut obj = s.store.get(rt, ns.as_deref(), &name).await?;
        let current = obj.spec().and_then(|sp| sp.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
        if let Some(expected) = args.current_replicas
            && i64::from(expected) != current
        {
            return Err(CliError::InvalidArgument(format!("expected replicas to be {expected}, was {current}")));
        }
        match obj.data.get_mut("spec") {
            Some(Value::Object(spec)) => {
                spec.insert("replicas".into(), json!(args.replicas));
            }
            _ => {
                obj.data.insert("spec".into(), json!({ "replicas": args.replicas }));
            }
        }
        match s.store.update(rt, obj.clone(), &WriteOptions::default()).await {
            Ok(_) => {
                writeln!(s.out, "{} scaled", object_label(&info, &obj))?;
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) if attempt < CONFLICT_RETRIES && args.current_replicas.is_none() => {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
