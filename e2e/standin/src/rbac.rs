//! [`Authorizer`]: RBAC decisions from the Role, ClusterRole, RoleBinding and ClusterRoleBinding
//! objects in the store, for resource requests. Supported: verbs, apiGroups, resources (with
//! `resource/subresource`, `*/subresource`, `resource/*` and `*`), resourceNames, User/Group/
//! ServiceAccount subjects. Not supported: aggregated ClusterRoles (`aggregationRule`),
//! `nonResourceURLs` (discovery, `/version` and OpenAPI are open to every authenticated user), and
//! the escalation checks that stop a user from granting more than they hold.

use super::error::{ApiError, qualified};
use super::resources::keys;
use super::store::StoreState;
use super::users::KubeUser;
use serde_json::Value;

/// What a request wants to do.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// Who.
    pub user: &'a KubeUser,
    /// RBAC verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`).
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource or "".
    pub subresource: &'a str,
    /// Namespace or "" (cluster scope, or all namespaces).
    pub namespace: &'a str,
    /// Object name or "".
    pub name: &'a str,
}

/// Decides requests against the stored RBAC objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Authorizer;

impl Authorizer {
    /// Allows the request or explains, as the real server does, why not.
    pub fn authorize(&self, state: &StoreState, attrs: &Attributes<'_>) -> Result<(), ApiError> {
        if attrs.user.is_admin() || self.allowed(state, attrs) {
            return Ok(());
        }
        let full_resource = if attrs.subresource.is_empty() {
            attrs.resource.to_string()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let what = if attrs.name.is_empty() {
            qualified(attrs.group, attrs.resource)
        } else {
            format!(
                "{} \"{}\"",
                qualified(attrs.group, attrs.resource),
                attrs.name
            )
        };
        let scope = if attrs.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", attrs.namespace)
        };
        Err(ApiError::forbidden(format!(
            "{what} is forbidden: User \"{}\" cannot {} resource \"{full_resource}\" in API group \"{}\" {scope}",
            attrs.user.username(),
            attrs.verb,
            attrs.group
        ))
        .with_details(attrs.group, attrs.resource, attrs.name))
    }

    fn allowed(&self, state: &StoreState, attrs: &Attributes<'_>) -> bool {
        let cluster_bindings = state.list(keys::CLUSTER_ROLE_BINDINGS, Some(""));
        for binding in &cluster_bindings {
            if self.binds(binding, "", attrs.user)
                && let Some(role) = role_of(state, binding, "")
                && rules_allow(&role, attrs)
            {
                return true;
            }
        }
        if attrs.namespace.is_empty() {
            return false;
        }
        for binding in &state.list(keys::ROLE_BINDINGS, Some(attrs.namespace)) {
            if self.binds(binding, attrs.namespace, attrs.user)
                && let Some(role) = role_of(state, binding, attrs.namespace)
                && rules_allow(&role, attrs)
            {
                return true;
            }
        }
        false
    }

    fn binds(&self, binding: &Value, binding_namespace: &str, user: &KubeUser) -> bool {
        let username = user.username();
        let groups = user.groups();
        binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|subject| {
                let name = subject["name"].as_str().unwrap_or("");
                match subject["kind"].as_str() {
                    Some("User") => name == username,
                    Some("Group") => groups.iter().any(|g| g == name),
                    Some("ServiceAccount") => {
                        let ns = subject["namespace"].as_str().unwrap_or(binding_namespace);
                        matches!(user, KubeUser::ServiceAccount { namespace, name: sa }
                            if namespace == ns && sa == name)
                    }
                    _ => false,
                }
            })
    }
}

/// The role a binding refers to (a Role in the binding's namespace or a ClusterRole).
fn role_of(state: &StoreState, binding: &Value, namespace: &str) -> Option<std::sync::Arc<Value>> {
    let role_ref = &binding["roleRef"];
    let name = role_ref["name"].as_str()?;
    let key = match role_ref["kind"].as_str()? {
        "ClusterRole" => super::store::ObjectKey::new(keys::CLUSTER_ROLES, "", name),
        "Role" if !namespace.is_empty() => {
            super::store::ObjectKey::new(keys::ROLES, namespace, name)
        }
        _ => return None,
    };
    state.get(&key)
}

fn contains(list: &Value, wanted: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .any(|v| v.as_str() == Some(wanted))
}

fn rules_allow(role: &Value, attrs: &Attributes<'_>) -> bool {
    role["rules"].as_array().into_iter().flatten().any(|rule| {
        let verb_ok = contains(&rule["verbs"], attrs.verb) || contains(&rule["verbs"], "*");
        let group_ok =
            contains(&rule["apiGroups"], attrs.group) || contains(&rule["apiGroups"], "*");
        let resource_ok = if attrs.subresource.is_empty() {
            contains(&rule["resources"], attrs.resource) || contains(&rule["resources"], "*")
        } else {
            let full = format!("{}/{}", attrs.resource, attrs.subresource);
            contains(&rule["resources"], &full)
                || contains(&rule["resources"], "*")
                || contains(&rule["resources"], &format!("*/{}", attrs.subresource))
                || contains(&rule["resources"], &format!("{}/*", attrs.resource))
        };
        let names = rule["resourceNames"].as_array().map(Vec::len).unwrap_or(0);
        let name_ok =
            names == 0 || (!attrs.name.is_empty() && contains(&rule["resourceNames"], attrs.name));
        verb_ok && group_ok && resource_ok && name_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ObjectKey, Store};
    use serde_json::json;

    #[test]
    fn role_binding_grants_only_its_rules() {
        let store = Store::new(100);
        let mut s = store.lock();
        s.put(
            ObjectKey::new(keys::ROLES, "ns", "r"),
            json!({"metadata": {"name": "r", "namespace": "ns"}, "rules": [
                {"apiGroups": ["cache.ringcache.dev"], "resources": ["cacheclusters/status"], "verbs": ["patch"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["only"]}
            ]}),
        );
        s.put(
            ObjectKey::new(keys::ROLE_BINDINGS, "ns", "b"),
            json!({"metadata": {"name": "b", "namespace": "ns"},
                   "roleRef": {"kind": "Role", "name": "r", "apiGroup": "rbac.authorization.k8s.io"},
                   "subjects": [{"kind": "ServiceAccount", "name": "op"}]}),
        );
        let sa = KubeUser::service_account("ns", "op");
        let attrs = |verb, group, resource, sub, ns, name| Attributes {
            user: &sa,
            verb,
            group,
            resource,
            subresource: sub,
            namespace: ns,
            name,
        };
        let a = Authorizer;
        assert!(
            a.authorize(
                &s,
                &attrs(
                    "patch",
                    "cache.ringcache.dev",
                    "cacheclusters",
                    "status",
                    "ns",
                    "x"
                )
            )
            .is_ok()
        );
        assert!(
            a.authorize(
                &s,
                &attrs(
                    "patch",
                    "cache.ringcache.dev",
                    "cacheclusters",
                    "",
                    "ns",
                    "x"
                )
            )
            .is_err()
        );
        assert!(
            a.authorize(
                &s,
                &attrs(
                    "patch",
                    "cache.ringcache.dev",
                    "cacheclusters",
                    "status",
                    "other",
                    "x"
                )
            )
            .is_err()
        );
        assert!(
            a.authorize(&s, &attrs("get", "", "configmaps", "", "ns", "only"))
                .is_ok()
        );
        let denied = a
            .authorize(&s, &attrs("list", "", "configmaps", "", "ns", ""))
            .unwrap_err();
        assert_eq!(denied.code, 403);
        assert_eq!(
            denied.message,
            "configmaps is forbidden: User \"system:serviceaccount:ns:op\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"ns\""
        );
    }
}
