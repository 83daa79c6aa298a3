//! The `Resource` trait every kind implements, `ResourceType`, and the `resource!` macro.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{FieldErrors, ObjectMeta};

/// Whether objects of a kind live in a namespace or at cluster scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Objects live in a namespace (`Pod`, `Service`).
    Namespaced,
    /// Objects are cluster-wide (`Node`, `Namespace`).
    Cluster,
}

/// Identifies one kind of object at the store and API: group, version, kind, plural and scope.
///
/// Built-in kinds use `Cow::Borrowed` strings, so naming a type costs no allocation;
/// kinds registered at run time can use owned strings.
///
/// ```
/// use orch_core::{Resource, ResourceType, kinds::Deployment};
/// let rt = Deployment::resource_type();
/// assert_eq!(rt.api_version(), "apps/v1");
/// assert_eq!(rt.plural, "deployments");
/// assert!(rt.namespaced());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType {
    /// API group (`""` for the core group).
    pub group: Cow<'static, str>,
    /// API version within the group, e.g. `v1`.
    pub version: Cow<'static, str>,
    /// Kind, e.g. `Pod`.
    pub kind: Cow<'static, str>,
    /// Lower-case plural used in paths and store keys, e.g. `pods`.
    pub plural: Cow<'static, str>,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
}

impl ResourceType {
    /// A resource type from static strings (usable in `const` items).
    pub const fn new_static(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        scope: Scope,
    ) -> Self {
        ResourceType {
            group: Cow::Borrowed(group),
            version: Cow::Borrowed(version),
            kind: Cow::Borrowed(kind),
            plural: Cow::Borrowed(plural),
            scope,
        }
    }

    /// A resource type from owned strings, for kinds defined at run time.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
        plural: impl Into<String>,
        scope: Scope,
    ) -> Self {
        ResourceType {
            group: Cow::Owned(group.into()),
            version: Cow::Owned(version.into()),
            kind: Cow::Owned(kind.into()),
            plural: Cow::Owned(plural.into()),
            scope,
        }
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Whether objects of this type live in a namespace.
    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// `plural.group`, or just `plural` for the core group (the form RBAC rules and errors use).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() { self.plural.to_string() } else { format!("{}.{}", self.plural, self.group) }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.group_resource())
    }
}

/// A kind of object: its identity and access to its metadata.
///
/// Implement it with the [`resource!`](macro@crate::resource) macro for any struct with a
/// `metadata: ObjectMeta` field. Typed kinds do not carry `apiVersion`/`kind` fields;
/// [`DynamicObject::from_typed`](crate::DynamicObject::from_typed) adds them, and decoding
/// ignores them. Unknown fields are dropped when decoding into a typed kind (Kubernetes'
/// default "ignore" field validation); a [`DynamicObject`](crate::DynamicObject) keeps them.
///
/// ```
/// use orch_core::{ObjectMeta, Resource, Scope};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
/// struct GameServer {
///     metadata: ObjectMeta,
///     spec: GameServerSpec,
/// }
/// #[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
/// struct GameServerSpec {
///     map: String,
/// }
/// orch_core::resource!(GameServer, group = "games.example.com", version = "v1", plural = "gameservers", scope = Namespaced);
///
/// assert_eq!(GameServer::KIND, "GameServer");
/// assert_eq!(GameServer::resource_type().api_version(), "games.example.com/v1");
/// assert_eq!(GameServer::SCOPE, Scope::Namespaced);
/// ```
pub trait Resource: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync + 'static {
    /// API group (`""` for the core group).
    const GROUP: &'static str;
    /// API version within the group.
    const VERSION: &'static str;
    /// Kind name.
    const KIND: &'static str;
    /// Lower-case plural.
    const PLURAL: &'static str;
    /// Namespaced or cluster-scoped.
    const SCOPE: Scope;

    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutably.
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    /// Checks the object beyond what its types express; every problem is reported with its field path.
    ///
    /// The default checks the metadata (name as a DNS-1123 subdomain, labels, annotations,
    /// finalizers, owner references); kinds with more rules pass `validate = path` to
    /// [`resource!`](macro@crate::resource) and call
    /// [`validate_object_meta`](crate::validate_object_meta) themselves.
    ///
    /// # Errors
    /// All field errors found.
    fn validate(&self) -> Result<(), FieldErrors> {
        let path = crate::FieldPath::root("metadata");
        crate::validate_object_meta(self.meta(), &path, Self::SCOPE, crate::validation::names::dns1123_subdomain)
            .into_result()
    }

    /// The resource type of this kind.
    fn resource_type() -> ResourceType {
        ResourceType::new_static(Self::GROUP, Self::VERSION, Self::KIND, Self::PLURAL, Self::SCOPE)
    }

    /// `group/version`, or `version` for the core group.
    fn api_version() -> Cow<'static, str> {
        if Self::GROUP.is_empty() {
            Cow::Borrowed(Self::VERSION)
        } else {
            Cow::Owned(format!("{}/{}", Self::GROUP, Self::VERSION))
        }
    }
}

/// Implements [`Resource`] for a struct with a `metadata: ObjectMeta` field, in one line.
///
/// The kind is the type's name. An optional `validate = path` names a
/// `fn(&T) -> Result<(), FieldErrors>` used as [`Resource::validate`].
///
/// ```
/// # use orch_core::ObjectMeta;
/// # #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// # struct Job { metadata: ObjectMeta, spec: serde_json::Value }
/// fn check(job: &Job) -> Result<(), orch_core::FieldErrors> {
///     Ok(())
/// }
/// orch_core::resource!(Job, group = "batch.example.com", version = "v1", plural = "jobs", scope = Namespaced, validate = check);
/// ```
#[macro_export]
macro_rules! resource {
    ($ty:ident, group = $g:expr, version = $v:expr, plural = $p:expr, scope = $scope:ident $(, validate = $val:path)? $(,)?) => {
        impl $crate::Resource for $ty {
            const GROUP: &'static str = $g;
            const VERSION: &'static str = $v;
            const KIND: &'static str = stringify!($ty);
            const PLURAL: &'static str = $p;
            const SCOPE: $crate::Scope = $crate::Scope::$scope;
            fn meta(&self) -> &$crate::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut $crate::ObjectMeta {
                &mut self.metadata
            }
            $(
                fn validate(&self) -> ::core::result::Result<(), $crate::FieldErrors> {
                    $val(self)
                }
            )?
        }
    };
}
