//! Roles (verbs × resources × namespaces) bound to users and groups: denied unless allowed.

use serde::Deserialize;

use super::{ADMIN_GROUP, Authorizer, RequestAttributes, UserInfo};

/// A malformed policy file.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The YAML does not parse or does not have the policy's shape.
    #[error("policy: {0}")]
    Parse(String),
    /// A binding names a role that is not defined.
    #[error("policy: bindings[{index}] names the undefined role {role:?}")]
    UnknownRole {
        /// Index of the binding.
        index: usize,
        /// The role it names.
        role: String,
    },
}

/// One rule of a role: `*` matches anything in a list.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Verbs: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `*`.
    pub verbs: Vec<String>,
    /// Resources with optional subresource: `pods`, `pods/log`, `deployments/scale`, or `*`.
    pub resources: Vec<String>,
    /// Namespaces the rule covers; `*` covers every namespace and cluster-scoped resources.
    #[serde(default = "everywhere")]
    pub namespaces: Vec<String>,
}

fn everywhere() -> Vec<String> {
    vec!["*".to_string()]
}

/// A named set of rules.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// What it allows.
    pub rules: Vec<PolicyRule>,
}

/// Grants a role to users and groups.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoleBinding {
    /// The role granted.
    pub role: String,
    /// Users it is granted to.
    #[serde(default)]
    pub users: Vec<String>,
    /// Groups it is granted to.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Roles and their bindings. Members of `system:masters` may do anything; everyone else only
/// what a bound role allows.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// The roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Who has them.
    #[serde(default)]
    pub bindings: Vec<RoleBinding>,
}

impl RolePolicy {
    /// Parses a policy from YAML (or JSON).
    ///
    /// # Errors
    /// `Parse` with the position, `UnknownRole` for a binding to an undefined role.
    pub fn parse_yaml(text: &str) -> Result<Self, PolicyError> {
        let policy: RolePolicy = yaml_serde::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        for (index, b) in policy.bindings.iter().enumerate() {
            if !policy.roles.iter().any(|r| r.name == b.role) {
                return Err(PolicyError::UnknownRole { index, role: b.role.clone() });
            }
        }
        Ok(policy)
    }
}

fn matches(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item == "*" || item == value)
}

impl PolicyRule {
    /// Whether the rule covers the request.
    pub fn covers(&self, attrs: &RequestAttributes) -> bool {
        let namespace_ok = if attrs.namespace.is_empty() {
            self.namespaces.iter().any(|n| n == "*")
        } else {
            matches(&self.namespaces, &attrs.namespace)
        };
        let resource_ok = matches(&self.resources, &attrs.resource)
            || attrs
                .resource
                .split_once('/')
                .is_some_and(|(main, _)| self.resources.iter().any(|r| r == &format!("{main}/*")));
        namespace_ok && resource_ok && matches(&self.verbs, &attrs.verb)
    }
}

impl Authorizer for RolePolicy {
    fn allows(&self, user: &UserInfo, attrs: &RequestAttributes) -> bool {
        if user.in_group(ADMIN_GROUP) {
            return true;
        }
        self.bindings
            .iter()
            .filter(|b| b.users.iter().any(|u| u == &user.name) || b.groups.iter().any(|g| user.in_group(g)))
            .filter_map(|b| self.roles.iter().find(|r| r.name == b.role))
            .any(|role| role.rules.iter().any(|rule| rule.covers(attrs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(verb: &str, resource: &str, namespace: &str) -> RequestAttributes {
        RequestAttributes {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    #[test]
    fn rules_match_verbs_resources_and_namespaces() {
        let policy = RolePolicy::parse_yaml(
            "roles:\n  - name: dev\n    rules:\n      - {verbs: ['*'], resources: [pods, 'deployments/*'], namespaces: [dev]}\n\
             bindings:\n  - {role: dev, groups: [devs]}\n",
        )
        .unwrap();
        let dev = UserInfo { name: "carol".into(), groups: vec!["devs".into()] };
        let other = UserInfo { name: "dan".into(), groups: vec![] };
        assert!(policy.allows(&dev, &attrs("delete", "pods", "dev")));
        assert!(policy.allows(&dev, &attrs("update", "deployments/scale", "dev")));
        assert!(!policy.allows(&dev, &attrs("delete", "pods", "prod")));
        assert!(!policy.allows(&dev, &attrs("list", "pods", "")), "all-namespace list needs '*'");
        assert!(!policy.allows(&dev, &attrs("get", "services", "dev")));
        assert!(!policy.allows(&other, &attrs("get", "pods", "dev")));
        let admin = UserInfo { name: "root".into(), groups: vec![ADMIN_GROUP.into()] };
        assert!(policy.allows(&admin, &attrs("delete", "nodes", "")));
    }

    #[test]
    fn binding_to_an_undefined_role_is_an_error() {
        let err = RolePolicy::parse_yaml("bindings:\n  - {role: ghost, users: [a]}\n").unwrap_err();
        assert!(err.to_string().contains("ghost"), "{err}");
        assert!(RolePolicy::parse_yaml("roles: 3").is_err());
    }
}
