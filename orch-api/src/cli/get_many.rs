//! `orchctl get` of several kinds at once (`po,svc`, `all`): one table per kind with `kind/name` names, or one `List`.

use std::sync::Arc;

use orch_core::store::ListParams;
use orch_core::{DynamicObject, KindInfo, Timestamp};

use super::args::{GetArgs, OutputFormat};
use super::errors::CliError;
use super::get::{no_resources, object_format};
use super::output::{ObjectFormat, print_objects};
use super::printers::{TableOptions, table};
use super::session::{Session, list_all};

/// Lists every kind in `infos` and prints the results together, like `kubectl get po,svc`.
///
/// # Errors
/// `--watch` or names with several kinds (kubectl refuses both), or a server error.
pub async fn run(s: &mut Session<'_>, infos: Vec<Arc<KindInfo>>, args: GetArgs) -> Result<(), CliError> {
    if args.watch {
        return Err(CliError::InvalidArgument("you may only specify a single resource type with --watch".into()));
    }
    if !args.names.is_empty() || args.resource.contains('/') {
        return Err(CliError::InvalidArgument(
            "names cannot be given with several resource types; get one type at a time".into(),
        ));
    }
    let params = ListParams {
        label_selector: args.selector.clone(),
        field_selector: args.field_selector.clone(),
        ..Default::default()
    };
    let mut found: Vec<(Arc<KindInfo>, Vec<DynamicObject>)> = Vec::with_capacity(infos.len());
    for info in &infos {
        let ns = if args.all_namespaces { None } else { s.namespace_for(info).map(str::to_owned) };
        let list = list_all(&*s.store, &info.resource_type, ns.as_deref(), &params).await?;
        found.push((info.clone(), list.items));
    }
    let format = object_format(args.output);
    if let Some(f @ (ObjectFormat::Yaml | ObjectFormat::Json)) = format {
        let all: Vec<DynamicObject> = found.into_iter().flat_map(|(_, items)| items).collect();
        if let Some(info) = infos.first() {
            print_objects(s.out, f, info, &all, false)?;
        }
        return Ok(());
    }
    let mut printed = false;
    let now = Timestamp::now();
    for (info, items) in found.iter().filter(|(_, items)| !items.is_empty()) {
        if format == Some(ObjectFormat::Name) {
            print_objects(s.out, ObjectFormat::Name, info, items, false)?;
            printed = true;
            continue;
        }
        if printed {
            writeln!(s.out)?;
        }
        let opts = TableOptions {
            wide: args.output == Some(OutputFormat::Wide),
            namespace_column: args.all_namespaces && info.resource_type.namespaced(),
            show_labels: args.show_labels,
            kind_prefix: true,
        };
        let refs: Vec<&DynamicObject> = items.iter().collect();
        let t = table(info, &refs, opts, now);
        let text = if args.no_headers { t.render_without_header() } else { t.render() };
        s.out.write_all(text.as_bytes())?;
        printed = true;
    }
    if !printed {
        let namespaced = infos.iter().find(|i| i.resource_type.namespaced()).or(infos.first());
        if let Some(info) = namespaced {
            let ns = s.namespace.clone();
            no_resources(s, info, Some(&ns), args.all_namespaces)?;
        }
    }
    Ok(())
}
