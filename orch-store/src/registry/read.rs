//! Reads: get, and list with selectors and consistent paging.

use orch_core::store::{ListParams, ObjectList};
use orch_core::{DynamicObject, FieldSelector, ResourceType, Selector, StoreError};

use super::{Registry, codec, keys};
use crate::kv::{KeyRange, RangeRequest, prefix_end};

/// The parsed selectors of a list or watch.
#[derive(Clone, Debug, Default)]
pub(super) struct Filter {
    pub(super) namespace: Option<String>,
    pub(super) labels: Option<Selector>,
    pub(super) fields: Option<FieldSelector>,
}

impl Filter {
    pub(super) fn parse(
        namespace: Option<&str>,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<Self, StoreError> {
        let labels = labels
            .filter(|s| !s.trim().is_empty())
            .map(Selector::parse)
            .transpose()
            .map_err(|e| StoreError::bad_request(format!("invalid label selector: {e}")))?;
        let fields = fields
            .filter(|s| !s.trim().is_empty())
            .map(FieldSelector::parse)
            .transpose()
            .map_err(|e| StoreError::bad_request(format!("invalid field selector: {e}")))?;
        Ok(Filter { namespace: namespace.filter(|n| !n.is_empty()).map(str::to_owned), labels, fields })
    }

    pub(super) fn is_everything(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }

    pub(super) fn matches(&self, obj: &DynamicObject) -> bool {
        if let Some(ns) = &self.namespace
            && obj.namespace() != ns
        {
            return false;
        }
        if let Some(l) = &self.labels
            && !l.matches(&obj.metadata.labels)
        {
            return false;
        }
        self.fields.as_ref().is_none_or(|f| f.matches(obj))
    }
}

impl Registry {
    pub(super) async fn get_object(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<DynamicObject, StoreError> {
        self.kind(rt)?;
        let namespace = if rt.namespaced() { namespace.unwrap_or("") } else { "" };
        if rt.namespaced() && namespace.is_empty() {
            return Err(StoreError::bad_request("a namespace is required to get a namespaced object"));
        }
        self.read_existing(rt, namespace, name).await
    }

    pub(super) async fn list_objects(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, StoreError> {
        self.kind(rt)?;
        let namespace = namespace.filter(|_| rt.namespaced());
        let filter = Filter::parse(namespace, params.label_selector.as_deref(), params.field_selector.as_deref())?;
        let prefix = keys::type_prefix(rt, namespace);
        let end = prefix_end(prefix.as_bytes());
        let (mut start, mut revision) = match params.continue_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => decode_continue(token, &prefix)?,
            None => {
                let rv = match params.resource_version.as_deref() {
                    None | Some("") | Some("0") => 0,
                    Some(rv) => codec::parse_rv(rv)?,
                };
                (prefix.clone().into_bytes(), rv)
            }
        };
        let limit = params.limit.unwrap_or(0) as usize;
        let mut items = Vec::new();
        let mut continue_from = None;
        let mut remaining = None;
        loop {
            let want =
                if limit == 0 { 0 } else { (limit - items.len()).max(if filter.is_everything() { 1 } else { 256 }) };
            let req = RangeRequest::range(KeyRange::between(start.clone(), end.clone()))
                .at_revision(revision)
                .limit(want as i64);
            let resp = self.inner.kv.range(req).await?;
            if revision == 0 {
                revision = resp.revision;
            }
            let taken_before = items.len();
            let mut stopped_at = None;
            for (i, kv) in resp.kvs.iter().enumerate() {
                if limit > 0 && items.len() == limit {
                    stopped_at = Some(i);
                    break;
                }
                let obj = codec::decode(kv)?;
                if filter.matches(&obj) {
                    items.push(obj);
                }
            }
            let last_key = match stopped_at {
                Some(i) => resp.kvs.get(i.saturating_sub(1)).map(|kv| kv.key.clone()),
                None => resp.kvs.last().map(|kv| kv.key.clone()),
            };
            let more = stopped_at.is_some() || resp.more;
            if limit > 0 && items.len() == limit && more {
                if let Some(k) = last_key {
                    let mut next = k.to_vec();
                    next.push(0);
                    continue_from = Some(next);
                    if filter.is_everything() {
                        remaining = Some(resp.count - (items.len() - taken_before) as i64);
                    }
                }
                break;
            }
            match (more, last_key) {
                (true, Some(k)) => {
                    let mut next = k.to_vec();
                    next.push(0);
                    start = next;
                }
                _ => break,
            }
        }
        Ok(ObjectList {
            resource_version: revision.to_string(),
            continue_token: continue_from.map(|k| encode_continue(revision, &k)),
            remaining_item_count: remaining,
            items,
        })
    }
}

/// A continue token: the revision of the first page and the key to resume at, hex-encoded.
fn encode_continue(revision: i64, key: &[u8]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("{revision}.{hex}")
}

fn decode_continue(token: &str, prefix: &str) -> Result<(Vec<u8>, i64), StoreError> {
    let bad = || StoreError::bad_request(format!("invalid continue token {token:?}"));
    let (rev, hex) = token.split_once('.').ok_or_else(bad)?;
    let revision: i64 = rev.parse().ok().filter(|r| *r > 0).ok_or_else(bad)?;
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return Err(bad());
    }
    let key = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    if !key.starts_with(prefix.as_bytes()) {
        return Err(StoreError::bad_request("the continue token belongs to another list"));
    }
    Ok((key, revision))
}
