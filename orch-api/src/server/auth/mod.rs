//! Authentication (who is calling) and authorization (what they may do).

mod node;
mod policy;
mod tokens;

pub use node::{NODE_GROUP, NODE_USER_PREFIX, NodeRestriction, node_name_of};
pub use policy::{PolicyError, PolicyRule, Role, RoleBinding, RolePolicy};
pub use tokens::{TokenError, TokenFile};

use axum::http::HeaderMap;

/// The group whose members may do anything, as in Kubernetes.
pub const ADMIN_GROUP: &str = "system:masters";

/// An authenticated caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`alice`, `system:node:n1`).
    pub name: String,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// Tells who sent a request.
///
/// # Errors
/// `Err(message)` when credentials are present but invalid; `Ok(None)` when there are none.
///
/// ```
/// use orch_api::server::auth::{Authenticator, TokenFile};
/// let tokens = TokenFile::parse("s3cret,alice,1001,\"devs,ops\"\n").unwrap();
/// let mut headers = axum::http::HeaderMap::new();
/// headers.insert("authorization", "Bearer s3cret".parse().unwrap());
/// let user = tokens.authenticate(&headers).unwrap().unwrap();
/// assert_eq!(user.name, "alice");
/// assert_eq!(user.groups, ["devs", "ops"]);
/// ```
pub trait Authenticator: Send + Sync {
    /// The caller, `None` without credentials.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Option<UserInfo>, String>;
}

/// What a request wants to do, in RBAC's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestAttributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// API group of the resource.
    pub group: String,
    /// Plural resource, with its subresource: `pods`, `pods/status`, `deployments/scale`.
    pub resource: String,
    /// Namespace; empty for cluster-scoped or all-namespace requests.
    pub namespace: String,
    /// Object name; empty for collections.
    pub name: String,
}

/// Decides whether a user may do something.
///
/// ```
/// use orch_api::server::auth::{Authorizer, RequestAttributes, RolePolicy, UserInfo};
/// let policy = RolePolicy::parse_yaml(r#"
/// roles:
///   - name: viewer
///     rules: [{verbs: [get, list, watch], resources: ["*"], namespaces: ["*"]}]
/// bindings:
///   - {role: viewer, users: [alice]}
/// "#).unwrap();
/// let alice = UserInfo { name: "alice".into(), groups: vec![] };
/// let get = RequestAttributes { verb: "get".into(), resource: "pods".into(), namespace: "default".into(), ..Default::default() };
/// assert!(policy.allows(&alice, &get));
/// let delete = RequestAttributes { verb: "delete".into(), ..get };
/// assert!(!policy.allows(&alice, &delete));
/// ```
pub trait Authorizer: Send + Sync {
    /// Whether `user` may do what `attrs` describes. Denied unless a rule allows it.
    fn allows(&self, user: &UserInfo, attrs: &RequestAttributes) -> bool;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Authenticator, _: &dyn Authorizer) {}
