//! `orchctl delete`: by kind and names, by selector or `--all`, or by the objects files describe; with cascade and grace period.

use std::sync::Arc;

use orch_core::store::{DeleteOptions, ListParams, PropagationPolicy};
use orch_core::{KindInfo, StoreError};

use super::args::{Cascade, DeleteArgs};
use super::errors::CliError;
use super::kinds::{kind_label, split_kind_name};
use super::manifests::read_all;
use super::session::{Session, list_all};

/// One object to delete.
struct Target {
    info: Arc<KindInfo>,
    namespace: Option<String>,
    name: String,
}

/// Runs `delete`, printing `kind.group "name" deleted` per object.
///
/// # Errors
/// A usage error when nothing says what to delete; the server's error (`NotFound` unless
/// `--ignore-not-found`) for a single object; [`CliError::Partial`] when some of several failed
/// (each failure is printed as it happens and the rest are still deleted).
pub async fn run(s: &mut Session<'_>, args: DeleteArgs) -> Result<(), CliError> {
    let opts = options(&args);
    let targets = targets(s, &args).await?;
    let (total, mut failed) = (targets.len(), 0);
    for t in targets {
        match s.store.delete(&t.info.resource_type, t.namespace.as_deref(), &t.name, &opts).await {
            Ok(_) => writeln!(s.out, "{} {:?} deleted", kind_label(&t.info), t.name)?,
            Err(StoreError::NotFound { .. }) if args.ignore_not_found => {}
            Err(e) => s.object_failed(e.into(), total, &mut failed)?,
        }
    }
    if failed > 0 { Err(CliError::Partial { failed, total }) } else { Ok(()) }
}

fn options(args: &DeleteArgs) -> DeleteOptions {
    let policy = match args.cascade {
        Cascade::Background => PropagationPolicy::Background,
        Cascade::Foreground => PropagationPolicy::Foreground,
        Cascade::Orphan => PropagationPolicy::Orphan,
    };
    let mut opts = DeleteOptions::default().propagation(policy);
    if args.now {
        opts = opts.grace_period(1);
    } else if args.grace_period >= 0 {
        opts = opts.grace_period(args.grace_period);
    }
    opts
}

async fn targets(s: &mut Session<'_>, args: &DeleteArgs) -> Result<Vec<Target>, CliError> {
    if !args.filenames.is_empty() {
        if args.resource.is_some() {
            return Err(CliError::InvalidArgument("give either -f FILE or KIND NAME, not both".into()));
        }
        let objects = read_all(&args.filenames, false, &s.kinds, s.env)?;
        return Ok(objects
            .into_iter()
            .map(|m| {
                let namespace = m.info.resource_type.namespaced().then(|| {
                    m.object.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| s.namespace.clone())
                });
                Target { namespace, name: m.object.name().to_owned(), info: m.info }
            })
            .collect());
    }
    let Some(resource) = args.resource.as_deref() else {
        return Err(CliError::InvalidArgument(
            "you must provide one or more resources by argument or filename (-f)".into(),
        ));
    };
    let (kind_text, slash_name) = split_kind_name(resource);
    let info = s.kind(kind_text)?;
    let namespace = s.namespace_for(&info).map(str::to_owned);
    let mut names: Vec<String> = slash_name.map(str::to_owned).into_iter().collect();
    for n in &args.names {
        match split_kind_name(n) {
            (_, Some(name)) => names.push(name.to_owned()),
            (name, None) => names.push(name.to_owned()),
        }
    }
    if args.selector.is_some() || args.all {
        if !names.is_empty() {
            return Err(CliError::InvalidArgument("names cannot be combined with --selector or --all".into()));
        }
        let params = ListParams { label_selector: args.selector.clone(), ..Default::default() };
        let list = list_all(&*s.store, &info.resource_type, namespace.as_deref(), &params).await?;
        names = list.items.iter().map(|o| o.name().to_owned()).collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
    }
    if names.is_empty() {
        return Err(CliError::InvalidArgument(format!(
            "resource(s) were provided, but no name was specified: orchctl delete {kind_text} NAME, or use -l / --all"
        )));
    }
    Ok(names.into_iter().map(|name| Target { info: info.clone(), namespace: namespace.clone(), name }).collect())
}
