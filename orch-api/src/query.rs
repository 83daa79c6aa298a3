//! Query strings of resource requests: read by the server, written by the client, one set of names.

use std::time::Duration;

use orch_core::StoreError;
use orch_core::store::{ListParams, WatchParams};

/// The query parameters of a resource request, as Kubernetes names them.
///
/// ```
/// use orch_api::query::Query;
/// let q = Query::parse("labelSelector=app%3Dweb&limit=50&watch=true&dryRun=All").unwrap();
/// assert!(q.watch && q.dry_run);
/// assert_eq!(q.list_params().label_selector.as_deref(), Some("app=web"));
/// assert_eq!(q.list_params().limit, Some(50));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `limit`.
    pub limit: Option<u32>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `watch=true` (or `1`).
    pub watch: bool,
    /// `allowWatchBookmarks=true`.
    pub allow_bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `propagationPolicy`.
    pub propagation_policy: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `container` (pod logs).
    pub container: Option<String>,
    /// `follow=true` (pod logs).
    pub follow: bool,
    /// `tailLines` (pod logs).
    pub tail_lines: Option<i64>,
    /// `previous=true` (pod logs).
    pub previous: bool,
    /// `returnObject=true`: an orch extension asking `binding` to answer with the bound pod.
    pub return_object: bool,
    /// `fieldValidation=Strict`: refuse unknown fields instead of dropping them (`Warn` and
    /// `Ignore` drop them).
    pub strict_fields: bool,
}

impl Query {
    /// Parses a raw query string; unknown parameters are ignored, as Kubernetes does.
    ///
    /// # Errors
    /// `BadRequest` naming the parameter whose value is malformed.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let mut q = Query::default();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "labelSelector" => q.label_selector = Some(value).filter(|v| !v.is_empty()),
                "fieldSelector" => q.field_selector = Some(value).filter(|v| !v.is_empty()),
                "limit" => q.limit = Some(number("limit", &value)?).filter(|l| *l > 0),
                "continue" => q.continue_token = Some(value).filter(|v| !v.is_empty()),
                "resourceVersion" => q.resource_version = Some(value).filter(|v| !v.is_empty()),
                "watch" => q.watch = flag("watch", &value)?,
                "allowWatchBookmarks" => q.allow_bookmarks = flag("allowWatchBookmarks", &value)?,
                "timeoutSeconds" => q.timeout_seconds = Some(number("timeoutSeconds", &value)?),
                "dryRun" => match value.as_str() {
                    "All" => q.dry_run = true,
                    "" => {}
                    other => {
                        return Err(StoreError::bad_request(format!(
                            "query parameter dryRun: unsupported value {other:?} (only \"All\")"
                        )));
                    }
                },
                "propagationPolicy" => q.propagation_policy = Some(value),
                "gracePeriodSeconds" => q.grace_period_seconds = Some(number("gracePeriodSeconds", &value)?),
                "container" => q.container = Some(value).filter(|v| !v.is_empty()),
                "follow" => q.follow = flag("follow", &value)?,
                "tailLines" => q.tail_lines = Some(number("tailLines", &value)?),
                "previous" => q.previous = flag("previous", &value)?,
                "returnObject" => q.return_object = flag("returnObject", &value)?,
                "fieldValidation" => match value.as_str() {
                    "Strict" => q.strict_fields = true,
                    "Warn" | "Ignore" | "" => q.strict_fields = false,
                    other => {
                        return Err(StoreError::bad_request(format!(
                            "query parameter fieldValidation: {other:?} is not Strict, Warn or Ignore"
                        )));
                    }
                },
                _ => {}
            }
        }
        Ok(q)
    }

    /// The list parameters this query asks for.
    pub fn list_params(&self) -> ListParams {
        ListParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            limit: self.limit,
            continue_token: self.continue_token.clone(),
            resource_version: self.resource_version.clone(),
        }
    }

    /// The watch parameters this query asks for.
    pub fn watch_params(&self) -> WatchParams {
        WatchParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            resource_version: self.resource_version.clone(),
            allow_bookmarks: self.allow_bookmarks,
            timeout: self.timeout_seconds.map(Duration::from_secs),
        }
    }

    /// A query for a list call.
    pub fn from_list(params: &ListParams) -> Self {
        Query {
            label_selector: params.label_selector.clone(),
            field_selector: params.field_selector.clone(),
            limit: params.limit,
            continue_token: params.continue_token.clone(),
            resource_version: params.resource_version.clone(),
            ..Query::default()
        }
    }

    /// A query for a watch call.
    pub fn from_watch(params: &WatchParams) -> Self {
        Query {
            label_selector: params.label_selector.clone(),
            field_selector: params.field_selector.clone(),
            resource_version: params.resource_version.clone(),
            watch: true,
            allow_bookmarks: params.allow_bookmarks,
            timeout_seconds: params.timeout.map(|t| t.as_secs().max(1)),
            ..Query::default()
        }
    }

    /// The query in its encoded form, without the leading `?`; empty when nothing is set.
    pub fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        let mut pair = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.append_pair(k, &v);
            }
        };
        pair("labelSelector", self.label_selector.clone());
        pair("fieldSelector", self.field_selector.clone());
        pair("limit", self.limit.map(|l| l.to_string()));
        pair("continue", self.continue_token.clone());
        pair("resourceVersion", self.resource_version.clone());
        pair("watch", self.watch.then(|| "true".into()));
        pair("allowWatchBookmarks", self.allow_bookmarks.then(|| "true".into()));
        pair("timeoutSeconds", self.timeout_seconds.map(|t| t.to_string()));
        pair("dryRun", self.dry_run.then(|| "All".into()));
        pair("propagationPolicy", self.propagation_policy.clone());
        pair("gracePeriodSeconds", self.grace_period_seconds.map(|g| g.to_string()));
        pair("container", self.container.clone());
        pair("follow", self.follow.then(|| "true".into()));
        pair("tailLines", self.tail_lines.map(|t| t.to_string()));
        pair("previous", self.previous.then(|| "true".into()));
        pair("returnObject", self.return_object.then(|| "true".into()));
        pair("fieldValidation", self.strict_fields.then(|| "Strict".into()));
        out.finish()
    }
}

fn flag(name: &str, value: &str) -> Result<bool, StoreError> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(StoreError::bad_request(format!("query parameter {name}: {other:?} is not a boolean"))),
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::bad_request(format!("query parameter {name}: {value:?} is not a valid number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_parse_round_trip() {
        let q = Query {
            label_selector: Some("app=web,tier in (a,b)".into()),
            field_selector: Some("spec.nodeName=n1".into()),
            limit: Some(10),
            continue_token: Some("abc=".into()),
            resource_version: Some("42".into()),
            watch: true,
            allow_bookmarks: true,
            timeout_seconds: Some(5),
            dry_run: true,
            propagation_policy: Some("Foreground".into()),
            grace_period_seconds: Some(0),
            container: Some("c".into()),
            follow: true,
            tail_lines: Some(3),
            previous: true,
            return_object: true,
            strict_fields: true,
        };
        assert_eq!(Query::parse(&q.encode()).unwrap(), q);
        assert_eq!(Query::default().encode(), "");
    }

    #[test]
    fn malformed_values_name_the_parameter() {
        for (raw, name) in [("limit=x", "limit"), ("watch=maybe", "watch"), ("timeoutSeconds=-1", "timeoutSeconds")] {
            let err = Query::parse(raw).unwrap_err().to_string();
            assert!(err.contains(name), "{raw}: {err}");
        }
        assert!(Query::parse("dryRun=Some").is_err());
    }
}
