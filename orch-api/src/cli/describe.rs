//! `orchctl describe`: a readable, aligned report of an object (kind-specific for pods and deployments, generic otherwise) with its events.

use orch_core::store::ListParams;
use orch_core::{DynamicObject, KindInfo, Timestamp};
use serde_json::Value;

use super::apply::LAST_APPLIED;
use super::args::DescribeArgs;
use super::describe_kinds::describe_sections;
use super::duration::age;
use super::errors::CliError;
use super::kinds::split_kind_name;
use super::session::{Session, list_all};

/// One line of a report.
#[derive(Debug)]
enum Line {
    /// `Label:  value`, the value aligned with the other values at this level.
    Field(usize, String, String),
    /// `Label:` opening a nested block.
    Section(usize, String),
    /// Text printed as it is (table rows).
    Raw(usize, String),
}

/// Lines of a describe report, rendered with the values of each indentation level aligned.
#[derive(Debug, Default)]
pub struct Report {
    lines: Vec<Line>,
}

impl Report {
    /// Adds `Label:  value` at `level` (an empty label continues the previous field).
    pub fn field(&mut self, level: usize, label: &str, value: impl Into<String>) {
        self.lines.push(Line::Field(level, label.to_owned(), value.into()));
    }
    /// Adds a section title `Label:` at `level`.
    pub fn section(&mut self, level: usize, label: &str) {
        self.lines.push(Line::Section(level, label.to_owned()));
    }
    /// Adds a line printed as it is, indented to `level`.
    pub fn raw(&mut self, level: usize, text: impl Into<String>) {
        self.lines.push(Line::Raw(level, text.into()));
    }
    /// Adds a map as `k=v` lines under one label (`<none>` when empty).
    pub fn map<'a>(&mut self, level: usize, label: &str, entries: impl IntoIterator<Item = (&'a String, &'a String)>) {
        let mut lines: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        if lines.is_empty() {
            lines.push("<none>".into());
        }
        for (i, l) in lines.into_iter().enumerate() {
            self.field(level, if i == 0 { label } else { "" }, l);
        }
    }
    /// Adds a JSON value as nested `Key:  value` lines (keys capitalised, like kubectl's generic describer).
    pub fn value(&mut self, level: usize, label: &str, v: &Value) {
        match v {
            Value::Object(m) => {
                self.section(level, label);
                for (k, child) in m {
                    self.value(level + 1, &capitalise(k), child);
                }
            }
            Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
                self.section(level, label);
                for item in items {
                    self.value(level + 1, "-", item);
                }
            }
            Value::Array(items) => {
                let text: Vec<String> = items.iter().map(scalar).collect();
                self.field(level, label, text.join(", "));
            }
            other => self.field(level, label, scalar(other)),
        }
    }
    /// The report. Values align within a block: the lines of one level under the same parent
    /// (top-level lines form one block, so `Events:` aligns with `Name:`).
    pub fn render(&self) -> String {
        // Block number of every line: a line at level L closes the blocks of every deeper level.
        let mut open: Vec<usize> = Vec::new();
        let mut next_block = 0;
        let mut blocks = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let level = match line {
                Line::Field(l, ..) | Line::Section(l, _) | Line::Raw(l, _) => *l,
            };
            open.truncate(level + 1);
            while open.len() <= level {
                open.push(next_block);
                next_block += 1;
            }
            blocks.push(open[level]);
        }
        let mut widths = vec![0; next_block];
        for (line, block) in self.lines.iter().zip(&blocks) {
            if let Line::Field(_, label, _) = line {
                widths[*block] = widths[*block].max(label.chars().count() + 1);
            }
        }
        let mut out = String::new();
        for (line, block) in self.lines.iter().zip(&blocks) {
            match line {
                Line::Field(level, label, value) => {
                    let key = if label.is_empty() { String::new() } else { format!("{label}:") };
                    let width = widths[*block];
                    out.push_str(format!("{}{key:<width$}  {value}", "  ".repeat(*level)).trim_end());
                }
                Line::Section(level, label) => out.push_str(&format!("{}{label}:", "  ".repeat(*level))),
                Line::Raw(level, text) => out.push_str(&format!("{}{text}", "  ".repeat(*level))),
            }
            out.push('\n');
        }
        out
    }
}

fn capitalise(k: &str) -> String {
    let mut c = k.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

/// Runs `describe`.
///
/// # Errors
/// Unknown kind, a server error, `NotFound` for a named object.
pub async fn run(s: &mut Session<'_>, args: DescribeArgs) -> Result<(), CliError> {
    let (kind_text, slash_name) = split_kind_name(&args.resource);
    let info = s.kind(kind_text)?;
    let ns = s.namespace_for(&info).map(str::to_owned);
    let mut names = args.names;
    if let Some(n) = slash_name {
        names.insert(0, n.to_owned());
    }
    let objects = if names.is_empty() {
        let params = ListParams { label_selector: args.selector, ..Default::default() };
        list_all(&*s.store, &info.resource_type, ns.as_deref(), &params).await?.items
    } else {
        let mut v = Vec::new();
        for n in &names {
            v.push(s.store.get(&info.resource_type, ns.as_deref(), n).await?);
        }
        v
    };
    let now = Timestamp::now();
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            writeln!(s.out)?;
        }
        let mut report = describe(&info, obj, now);
        events(s, obj, now, &mut report).await;
        s.out.write_all(report.render().as_bytes())?;
    }
    Ok(())
}

/// The report of one object, without events.
pub fn describe(info: &KindInfo, obj: &DynamicObject, now: Timestamp) -> Report {
    let mut r = Report::default();
    r.field(0, "Name", obj.name());
    if info.resource_type.namespaced() {
        r.field(0, "Namespace", obj.namespace());
    }
    r.map(0, "Labels", &obj.metadata.labels);
    r.map(0, "Annotations", obj.metadata.annotations.iter().filter(|(k, _)| k.as_str() != LAST_APPLIED));
    if let Some(t) = obj.metadata.creation_timestamp {
        r.field(0, "CreationTimestamp", format!("{t} ({} ago)", age(Some(t), now)));
    }
    if let Some(owner) = obj.metadata.controller_owner() {
        r.field(0, "Controlled By", format!("{}/{}", owner.kind, owner.name));
    }
    if let Some(t) = obj.metadata.deletion_timestamp {
        r.field(0, "Terminating Since", t.to_string());
    }
    if !describe_sections(info, obj, &mut r) {
        for (k, v) in &obj.data {
            r.value(0, &capitalise(k), v);
        }
    }
    r
}

/// Appends the object's events (best effort: a server without events still describes).
async fn events(s: &mut Session<'_>, obj: &DynamicObject, now: Timestamp, r: &mut Report) {
    let Some(info) = s.kinds.by_kind("v1", "Event") else { return };
    let ns = (!obj.namespace().is_empty()).then_some(obj.namespace());
    let list = match list_all(&*s.store, &info.resource_type, ns, &ListParams::default()).await {
        Ok(l) => l.items,
        Err(_) => return,
    };
    let mine: Vec<&DynamicObject> = list
        .iter()
        .filter(|e| {
            e.field_str("involvedObject.name").as_deref() == Some(obj.name())
                && e.field_str("involvedObject.kind").as_deref() == Some(obj.types.kind.as_str())
        })
        .collect();
    if mine.is_empty() {
        r.field(0, "Events", "<none>");
        return;
    }
    r.section(0, "Events");
    let mut t = super::table::Table::new(["Type", "Reason", "Age", "From", "Message"]);
    for e in mine {
        let last = e.field_str("lastTimestamp").and_then(|t| t.parse().ok()).or(e.metadata.creation_timestamp);
        t.push(vec![
            e.field_str("type").unwrap_or_else(|| "Normal".into()),
            e.field_str("reason").unwrap_or_default(),
            age(last, now),
            e.field_str("source.component").or_else(|| e.field_str("reportingComponent")).unwrap_or_default(),
            e.field_str("message").unwrap_or_default(),
        ]);
    }
    for line in t.render().lines() {
        r.raw(1, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_align_and_nested_values_indent() {
        let mut r = Report::default();
        r.field(0, "Name", "web");
        r.map(0, "Labels", [(&"a".to_string(), &"1".to_string()), (&"b".to_string(), &"2".to_string())]);
        r.value(0, "Spec", &json!({"replicas": 2, "ports": [80, 443]}));
        r.field(0, "Events", "<none>");
        assert_eq!(
            r.render(),
            "Name:    web\nLabels:  a=1\n         b=2\nSpec:\n  Ports:     80, 443\n  Replicas:  2\nEvents:  <none>\n"
        );
    }
}
