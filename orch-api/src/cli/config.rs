//! `orchctl config`: current-context, get-contexts, use-context and view over the merged kubeconfig files.

use std::io::Write;

use serde_json::Value;

use super::args::{ConfigCommand, GlobalArgs};
use super::environment::Environment;
use super::errors::CliError;
use super::kubeconfig::{Kubeconfig, Loaded, kube_err, load_files, read};
use super::table::Table;

/// What `config view` prints in place of a secret.
const REDACTED: &str = "REDACTED";
/// What `config view` prints in place of certificate data.
const OMITTED: &str = "DATA+OMITTED";

/// Runs a `config` subcommand.
///
/// # Errors
/// No kubeconfig, an unknown context, or a file that cannot be read or written.
pub fn run(cmd: &ConfigCommand, flags: &GlobalArgs, env: &Environment, out: &mut dyn Write) -> Result<(), CliError> {
    let files = load_files(flags, env)?;
    if files.is_empty() {
        return Err(kube_err("no kubeconfig found (tried --kubeconfig, $KUBECONFIG and ~/.kube/config)".into()));
    }
    let merged = merge(&files);
    let current = flags.context.clone().or_else(|| merged.current_context.clone()).unwrap_or_default();
    match cmd {
        ConfigCommand::CurrentContext if current.is_empty() => Err(kube_err("current-context is not set".into())),
        ConfigCommand::CurrentContext => Ok(writeln!(out, "{current}")?),
        ConfigCommand::GetContexts => {
            let mut t = Table::new(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]);
            for c in &merged.contexts {
                let mark = if c.name == current { "*" } else { "" };
                let ctx = &c.context;
                t.push(vec![
                    mark.into(),
                    c.name.clone(),
                    ctx.cluster.clone(),
                    ctx.user.clone().unwrap_or_default(),
                    ctx.namespace.clone().unwrap_or_default(),
                ]);
            }
            Ok(out.write_all(t.render().as_bytes())?)
        }
        ConfigCommand::UseContext { name } => {
            if !merged.contexts.iter().any(|c| &c.name == name) {
                return Err(kube_err(format!("no context exists with the name: {name:?}")));
            }
            set_current_context(&files[0], name)?;
            Ok(writeln!(out, "Switched to context {name:?}.")?)
        }
        ConfigCommand::View { raw } => {
            let mut view = merged;
            if !raw {
                redact(&mut view);
            }
            Ok(out.write_all(view.to_yaml().as_bytes())?)
        }
    }
}

/// kubectl's merge: the first file to define a name (or set `current-context`) wins.
fn merge(files: &[Loaded]) -> Kubeconfig {
    let mut m = Kubeconfig::default();
    for f in files {
        let c = &f.config;
        for x in &c.clusters {
            if !m.clusters.iter().any(|y| y.name == x.name) {
                m.clusters.push(x.clone());
            }
        }
        for x in &c.users {
            if !m.users.iter().any(|y| y.name == x.name) {
                m.users.push(x.clone());
            }
        }
        for x in &c.contexts {
            if !m.contexts.iter().any(|y| y.name == x.name) {
                m.contexts.push(x.clone());
            }
        }
        if m.current_context.as_deref().is_none_or(str::is_empty) {
            m.current_context = c.current_context.clone();
        }
    }
    m
}

fn redact(k: &mut Kubeconfig) {
    for c in &mut k.clusters {
        if c.cluster.certificate_authority_data.is_some() {
            c.cluster.certificate_authority_data = Some(OMITTED.into());
        }
    }
    for u in &mut k.users {
        if u.user.token.is_some() {
            u.user.token = Some(REDACTED.into());
        }
    }
}

/// Rewrites `current-context` in one file, keeping every other field (including ones orch does not use).
fn set_current_context(file: &Loaded, name: &str) -> Result<(), CliError> {
    let text = read(&file.path)?;
    let mut doc: Value = if text.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        yaml_serde::from_slice(&text)
            .map_err(|e| kube_err(format!("cannot parse kubeconfig {}: {e}", file.path.display())))?
    };
    let Some(map) = doc.as_object_mut() else {
        return Err(kube_err(format!("kubeconfig {} is not a mapping", file.path.display())));
    };
    map.insert("current-context".into(), Value::String(name.to_owned()));
    let yaml = yaml_serde::to_string(&doc).map_err(|e| kube_err(e.to_string()))?;
    std::fs::write(&file.path, yaml).map_err(|source| CliError::WriteFile { path: file.path.clone(), source })
}
