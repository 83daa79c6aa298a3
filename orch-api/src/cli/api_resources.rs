//! `orchctl api-resources`: the kinds the connection knows (built-in and custom), as kubectl lists them.

use orch_core::KindRegistry;

use super::args::ApiResourcesArgs;
use super::errors::CliError;
use super::kinds::short_names;
use super::session::Session;
use super::table::Table;

/// Prints the kinds the session can name.
///
/// # Errors
/// When writing fails.
pub fn run(s: &mut Session<'_>, args: ApiResourcesArgs) -> Result<(), CliError> {
    let t = resources_table(&s.kinds, &args);
    let text = if args.no_headers { t.render_without_header() } else { t.render() };
    s.out.write_all(text.as_bytes())?;
    Ok(())
}

/// NAME, SHORTNAMES, APIVERSION, NAMESPACED and KIND of every kind that passes the filters,
/// sorted by name, then group.
pub fn resources_table(kinds: &KindRegistry, args: &ApiResourcesArgs) -> Table {
    let mut kinds = kinds.kinds();
    kinds.sort_by(|a, b| {
        (&a.resource_type.plural, &a.resource_type.group).cmp(&(&b.resource_type.plural, &b.resource_type.group))
    });
    let mut t = Table::new(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
    for k in kinds {
        let rt = &k.resource_type;
        if args.namespaced.is_some_and(|n| n != rt.namespaced())
            || args.api_group.as_deref().is_some_and(|g| g != rt.group)
        {
            continue;
        }
        t.push(vec![
            rt.plural.to_string(),
            short_names(&rt.plural).join(","),
            rt.api_version(),
            rt.namespaced().to_string(),
            rt.kind.to_string(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(namespaced: Option<bool>, api_group: Option<&str>) -> ApiResourcesArgs {
        ApiResourcesArgs { namespaced, api_group: api_group.map(str::to_owned), no_headers: false }
    }

    #[test]
    fn builtins_are_listed_by_name_with_short_names() {
        let text = resources_table(&KindRegistry::with_builtins(), &args(None, None)).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME          SHORTNAMES   APIVERSION               NAMESPACED   KIND");
        assert_eq!(lines[1], "deployments   deploy       apps/v1                  true         Deployment");
        assert!(lines.contains(&"pods          po           v1                       true         Pod"), "{text}");
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn filters_by_scope_and_group() {
        let kinds = KindRegistry::with_builtins();
        let cluster = resources_table(&kinds, &args(Some(false), None));
        let names: Vec<&str> = cluster.rows().iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["namespaces", "nodes"]);
        let apps = resources_table(&kinds, &args(None, Some("apps")));
        assert_eq!(apps.rows().len(), 2);
    }
}
