//! `orchctl get`: list or fetch objects and print them as a table or as YAML/JSON/names; `-w` keeps printing changes from a watch.

use futures::StreamExt;
use orch_core::store::{ListParams, WatchParams};
use orch_core::{DynamicObject, KindInfo, StoreError, Timestamp, WatchEvent};

use super::args::{GetArgs, OutputFormat};
use super::errors::CliError;
use super::kinds::{resolve_kinds, split_kind_name};
use super::output::{ObjectFormat, print_objects, write_value};
use super::printers::{TableOptions, table};
use super::session::{Session, list_all};

/// Runs `get`.
///
/// # Errors
/// Unknown kind, a server error, or `NotFound` for a named object that does not exist (after
/// printing the ones that do).
pub async fn run(s: &mut Session<'_>, args: GetArgs) -> Result<(), CliError> {
    let (kind_text, slash_name) = split_kind_name(&args.resource);
    let mut infos = resolve_kinds(&s.kinds, kind_text)?;
    if infos.len() != 1 {
        return super::get_many::run(s, infos, args).await;
    }
    let info = infos.remove(0);
    let mut names = args.names.clone();
    if let Some(n) = slash_name {
        names.insert(0, n.to_owned());
    }
    let namespace = if args.all_namespaces { None } else { s.namespace_for(&info).map(str::to_owned) };
    let mut missing = None;
    let mut resource_version = None;
    let objects = if names.is_empty() || args.watch {
        let params = ListParams {
            label_selector: args.selector.clone(),
            field_selector: args.field_selector.clone(),
            ..Default::default()
        };
        let list = list_all(&*s.store, &info.resource_type, namespace.as_deref(), &params).await?;
        resource_version = Some(list.resource_version);
        let items: Vec<DynamicObject> =
            list.items.into_iter().filter(|o| names.is_empty() || names.iter().any(|n| n == o.name())).collect();
        if let Some(absent) = names.iter().find(|n| !items.iter().any(|o| o.name() == n.as_str())) {
            missing = Some(not_found(&info, absent));
        }
        items
    } else {
        let mut found = Vec::new();
        for name in &names {
            match s.store.get(&info.resource_type, namespace.as_deref(), name).await {
                Ok(o) => found.push(o),
                Err(e @ StoreError::NotFound { .. }) => {
                    missing.get_or_insert(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        found
    };
    let single = !names.is_empty() && names.len() == 1 && !args.watch;
    let opts = TableOptions {
        wide: args.output == Some(OutputFormat::Wide),
        namespace_column: args.all_namespaces && info.resource_type.namespaced(),
        show_labels: args.show_labels,
        kind_prefix: false,
    };
    let mut widths = None;
    let format = object_format(args.output);
    // An empty list still prints as a YAML/JSON `List`; a table or names print nothing.
    let prints_empty = names.is_empty() && matches!(format, Some(ObjectFormat::Yaml | ObjectFormat::Json));
    if objects.is_empty() && !prints_empty {
        if names.is_empty() {
            no_resources(s, &info, namespace.as_deref(), args.all_namespaces)?;
        }
    } else if let Some(format) = format {
        print_objects(s.out, format, &info, &objects, single)?;
    } else {
        let refs: Vec<&DynamicObject> = objects.iter().collect();
        let t = table(&info, &refs, opts, Timestamp::now());
        let text = if args.no_headers { t.render_without_header() } else { t.render() };
        s.out.write_all(text.as_bytes())?;
        widths = Some(t.widths());
    }
    if let Some(e) = missing {
        return Err(e.into());
    }
    if args.watch {
        let params = WatchParams {
            label_selector: args.selector,
            field_selector: args.field_selector,
            resource_version,
            timeout: s.request_timeout,
            ..Default::default()
        };
        let limit = s.request_timeout;
        let watch = watch_rows(s, &info, namespace.as_deref(), params, &names, args.output, opts, widths);
        return match limit {
            Some(limit) => tokio::time::timeout(limit, watch).await.unwrap_or(Ok(())),
            None => watch.await,
        };
    }
    Ok(())
}

/// The object format `-o` asks for, if not a table.
pub fn object_format(output: Option<OutputFormat>) -> Option<ObjectFormat> {
    match output {
        Some(OutputFormat::Yaml) => Some(ObjectFormat::Yaml),
        Some(OutputFormat::Json) => Some(ObjectFormat::Json),
        Some(OutputFormat::Name) => Some(ObjectFormat::Name),
        Some(OutputFormat::Wide) | None => None,
    }
}

fn not_found(info: &KindInfo, name: &str) -> StoreError {
    StoreError::NotFound { resource: info.resource_type.group_resource(), name: name.to_owned() }
}

/// Tells (on the error stream, like kubectl) that nothing matched.
pub fn no_resources(s: &mut Session<'_>, info: &KindInfo, ns: Option<&str>, all: bool) -> Result<(), CliError> {
    match ns {
        Some(ns) if !all && info.resource_type.namespaced() => {
            writeln!(s.err, "No resources found in {ns} namespace.")?
        }
        _ => writeln!(s.err, "No resources found")?,
    }
    Ok(())
}

/// Prints one row (or object) per watch event until the watch ends.
#[allow(clippy::too_many_arguments)]
async fn watch_rows(
    s: &mut Session<'_>,
    info: &KindInfo,
    namespace: Option<&str>,
    params: WatchParams,
    names: &[String],
    output: Option<OutputFormat>,
    opts: TableOptions,
    mut widths: Option<Vec<usize>>,
) -> Result<(), CliError> {
    let mut events = s.store.watch(&info.resource_type, namespace, &params).await?;
    let format = object_format(output);
    while let Some(event) = events.next().await {
        let obj = match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
            WatchEvent::Bookmark { .. } => continue,
            WatchEvent::Error(e) => return Err(e.into()),
        };
        if !names.is_empty() && !names.iter().any(|n| n == obj.name()) {
            continue;
        }
        match format {
            Some(ObjectFormat::Name) => print_objects(s.out, ObjectFormat::Name, info, &[(*obj).clone()], true)?,
            Some(f) => {
                if f == ObjectFormat::Yaml {
                    writeln!(s.out, "---")?;
                }
                write_value(s.out, f, &*obj)?;
            }
            None => {
                let t = table(info, &[&*obj], opts, Timestamp::now());
                match &widths {
                    Some(w) => s.out.write_all(t.render_rows(w).as_bytes())?,
                    None => {
                        s.out.write_all(t.render().as_bytes())?;
                        widths = Some(t.widths());
                    }
                }
            }
        }
        s.out.flush()?;
    }
    Ok(())
}
