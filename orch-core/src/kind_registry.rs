//! `KindRegistry`: group/version/kind ↔ plural ↔ schema for built-in and user kinds (Kubernetes' Scheme and RESTMapper).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::kinds::{Deployment, Endpoints, Event, Lease, Namespace, Node, Pod, ReplicaSet, Service};
use crate::{DynamicObject, FieldErrors, Resource, ResourceType, Scope};

/// Validates a dynamic object of one kind; every problem is reported with its field path.
pub type DynamicValidator = Arc<dyn Fn(&DynamicObject) -> Result<(), FieldErrors> + Send + Sync>;

/// Everything known about one kind.
#[derive(Clone)]
pub struct KindInfo {
    /// Group, version, kind, plural and scope.
    pub resource_type: ResourceType,
    /// JSON schema of the whole object (with `apiVersion`, `kind` and `metadata`).
    pub schema: Value,
    /// Whether `status` is a separate subresource (true for kinds whose schema has `status`).
    pub has_status: bool,
    /// Decode-and-validate check, if the kind has one.
    pub validator: Option<DynamicValidator>,
}

impl fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindInfo")
            .field("resource_type", &self.resource_type)
            .field("has_status", &self.has_status)
            .field("validator", &self.validator.is_some())
            .finish()
    }
}

impl KindInfo {
    /// The info of a typed kind: its schema from schemars, and a validator that decodes the
    /// object into `K` (type errors name the field) and runs [`Resource::validate`].
    pub fn of<K: Resource>() -> Self {
        let mut schema = serde_json::to_value(schemars::schema_for!(K)).unwrap_or(Value::Null);
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("apiVersion".into(), json!({ "type": "string", "enum": [K::api_version()] }));
            props.insert("kind".into(), json!({ "type": "string", "enum": [K::KIND] }));
        }
        let has_status = schema.get("properties").and_then(|p| p.get("status")).is_some();
        let validator: DynamicValidator = Arc::new(|obj: &DynamicObject| obj.to_typed::<K>()?.validate());
        KindInfo { resource_type: K::resource_type(), schema, has_status, validator: Some(validator) }
    }

    /// `group/version` of the kind.
    pub fn api_version(&self) -> String {
        self.resource_type.api_version()
    }

    /// Runs the kind's validator, if any.
    ///
    /// # Errors
    /// Every field error found.
    pub fn validate(&self, obj: &DynamicObject) -> Result<(), FieldErrors> {
        match &self.validator {
            Some(v) => v(obj),
            None => Ok(()),
        }
    }
}

/// A kind that could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindRegistryError {
    /// Another kind already uses this group/version/kind or group/version/plural.
    #[error("kind {api_version}/{kind} (plural {plural:?}) is already registered")]
    Duplicate {
        /// `group/version`.
        api_version: String,
        /// Kind name.
        kind: String,
        /// Plural.
        plural: String,
    },
    /// A name is empty or not lower-case where it must be.
    #[error("invalid kind registration {api_version}/{kind}: {reason}")]
    Invalid {
        /// `group/version`.
        api_version: String,
        /// Kind name.
        kind: String,
        /// What is wrong.
        reason: String,
    },
}

/// Maps group/version/kind and group/version/plural to [`KindInfo`]. Built-ins and user kinds
/// register the same way.
///
/// ```
/// use orch_core::kind_registry::KindRegistry;
/// use orch_core::{ObjectMeta, Resource};
///
/// #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct GameServer { metadata: ObjectMeta, spec: serde_json::Value }
/// orch_core::resource!(GameServer, group = "games.example.com", version = "v1", plural = "gameservers", scope = Namespaced);
///
/// let mut kinds = KindRegistry::with_builtins();
/// kinds.register::<GameServer>().unwrap();
/// assert_eq!(kinds.by_kind("games.example.com/v1", "GameServer").unwrap().resource_type.plural, "gameservers");
/// assert_eq!(kinds.by_plural("apps", "v1", "deployments").unwrap().resource_type.kind, "Deployment");
/// assert!(kinds.register::<GameServer>().is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct KindRegistry {
    by_type: HashMap<ResourceType, Arc<KindInfo>>,
    by_kind: HashMap<(String, String, String), Arc<KindInfo>>,
    by_plural: HashMap<(String, String, String), Arc<KindInfo>>,
}

impl KindRegistry {
    /// A registry with no kinds.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the built-in kinds.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        for info in builtin_kinds() {
            // Built-ins have distinct names, so registration cannot fail.
            let _ = r.register_info(info);
        }
        r
    }

    /// Registers a typed kind.
    ///
    /// # Errors
    /// `Duplicate` when its kind or plural is taken in its group/version.
    pub fn register<K: Resource>(&mut self) -> Result<Arc<KindInfo>, KindRegistryError> {
        self.register_info(KindInfo::of::<K>())
    }

    /// Registers a kind described at run time (for example from a custom resource definition).
    ///
    /// # Errors
    /// `Duplicate` when taken, `Invalid` when the plural is not lower-case or a name is empty.
    pub fn register_info(&mut self, info: KindInfo) -> Result<Arc<KindInfo>, KindRegistryError> {
        let rt = &info.resource_type;
        let err = |reason: &str| KindRegistryError::Invalid {
            api_version: rt.api_version(),
            kind: rt.kind.to_string(),
            reason: reason.to_owned(),
        };
        if rt.kind.is_empty() || rt.version.is_empty() || rt.plural.is_empty() {
            return Err(err("kind, version and plural must not be empty"));
        }
        if rt.plural.chars().any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')) {
            return Err(err("plural must be lower-case letters, digits and '-'"));
        }
        let kkey = (rt.group.to_string(), rt.version.to_string(), rt.kind.to_string());
        let pkey = (rt.group.to_string(), rt.version.to_string(), rt.plural.to_string());
        if self.by_kind.contains_key(&kkey) || self.by_plural.contains_key(&pkey) {
            return Err(KindRegistryError::Duplicate {
                api_version: rt.api_version(),
                kind: rt.kind.to_string(),
                plural: rt.plural.to_string(),
            });
        }
        let info = Arc::new(info);
        self.by_type.insert(info.resource_type.clone(), info.clone());
        self.by_kind.insert(kkey, info.clone());
        self.by_plural.insert(pkey, info.clone());
        Ok(info)
    }

    /// Looks a kind up by `apiVersion` and `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&Arc<KindInfo>> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.by_kind.get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    /// Looks up the kind a resource type names: an exact match without allocating, else by
    /// group, version and plural.
    pub fn get(&self, rt: &ResourceType) -> Option<&Arc<KindInfo>> {
        self.by_type.get(rt).or_else(|| self.by_plural(&rt.group, &rt.version, &rt.plural))
    }

    /// Looks a kind up by group, version and plural (as in an API path).
    pub fn by_plural(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<KindInfo>> {
        self.by_plural.get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// Looks up the kind of a dynamic object.
    ///
    /// # Errors
    /// A message naming the unknown `apiVersion`/`kind`.
    pub fn for_object(&self, obj: &DynamicObject) -> Result<&Arc<KindInfo>, String> {
        if obj.types.api_version.is_empty() {
            return Err("apiVersion: required value".into());
        }
        if obj.types.kind.is_empty() {
            return Err("kind: required value".into());
        }
        self.by_kind(&obj.types.api_version, &obj.types.kind).ok_or_else(|| {
            format!("no kind {:?} is registered for version {:?}", obj.types.kind, obj.types.api_version)
        })
    }

    /// Every registered kind, sorted by group, version and plural.
    pub fn kinds(&self) -> Vec<Arc<KindInfo>> {
        let mut v: Vec<_> = self.by_plural.values().cloned().collect();
        v.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        v
    }

    /// The group/versions served, sorted (`""` is the core group).
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self.by_plural.keys().map(|(g, ver, _)| (g.clone(), ver.clone())).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether no kind is registered.
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }
}

/// The infos of the built-in kinds.
pub fn builtin_kinds() -> Vec<KindInfo> {
    vec![
        KindInfo::of::<Namespace>(),
        KindInfo::of::<Node>(),
        KindInfo::of::<Pod>(),
        KindInfo::of::<Service>(),
        KindInfo::of::<Endpoints>(),
        KindInfo::of::<ReplicaSet>(),
        KindInfo::of::<Deployment>(),
        KindInfo::of::<Lease>(),
        KindInfo::of::<Event>(),
    ]
}

impl Scope {
    /// `true` for [`Scope::Namespaced`].
    pub fn is_namespaced(self) -> bool {
        self == Scope::Namespaced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_found_by_kind_and_by_plural() {
        let r = KindRegistry::with_builtins();
        for (av, kind, group, plural, namespaced) in [
            ("v1", "Pod", "", "pods", true),
            ("v1", "Node", "", "nodes", false),
            ("v1", "Namespace", "", "namespaces", false),
            ("v1", "Service", "", "services", true),
            ("v1", "Endpoints", "", "endpoints", true),
            ("v1", "Event", "", "events", true),
            ("apps/v1", "ReplicaSet", "apps", "replicasets", true),
            ("apps/v1", "Deployment", "apps", "deployments", true),
            ("coordination.k8s.io/v1", "Lease", "coordination.k8s.io", "leases", true),
        ] {
            let a = r.by_kind(av, kind).unwrap();
            let b = r.by_plural(group, "v1", plural).unwrap();
            assert!(Arc::ptr_eq(a, b), "{kind}");
            assert_eq!(a.resource_type.namespaced(), namespaced, "{kind}");
        }
    }

    #[test]
    fn schema_has_type_fields_and_status_flag() {
        let r = KindRegistry::with_builtins();
        let pod = r.by_kind("v1", "Pod").unwrap();
        assert_eq!(pod.schema["properties"]["kind"]["enum"][0], "Pod");
        assert!(pod.has_status);
        assert!(!r.by_kind("coordination.k8s.io/v1", "Lease").unwrap().has_status);
    }

    #[test]
    fn unknown_object_kind_is_a_clear_error() {
        let r = KindRegistry::with_builtins();
        let obj = DynamicObject::new("example.com/v1", "Widget", Default::default());
        assert!(r.for_object(&obj).unwrap_err().contains("Widget"));
    }

    #[test]
    fn bad_plural_is_rejected() {
        let mut r = KindRegistry::new();
        let mut info = KindInfo::of::<Pod>();
        info.resource_type.plural = "Pods".into();
        assert!(matches!(r.register_info(info), Err(KindRegistryError::Invalid { .. })));
    }
}
