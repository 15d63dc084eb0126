//! [`KubeUser`] and [`Authenticator`]: bearer tokens map to users. The admin user (group
//! `system:masters`) bypasses RBAC; service accounts authenticate as
//! `system:serviceaccount:<namespace>:<name>` with the groups the real server gives them.

use super::meta;
use std::collections::HashMap;
use std::sync::RwLock;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KubeUser {
    /// The cluster administrator: RBAC is not consulted.
    Admin,
    /// A service account.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A named user with groups (`system:authenticated` is added automatically).
    User {
        /// User name as RBAC subjects name it.
        name: String,
        /// Extra groups.
        groups: Vec<String>,
    },
}

impl KubeUser {
    /// The service account `namespace/name`.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self::ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// A plain user without extra groups.
    pub fn user(name: &str) -> Self {
        Self::User {
            name: name.into(),
            groups: Vec::new(),
        }
    }

    /// The user a user name stands for (`system:serviceaccount:<ns>:<name>` is a service account;
    /// membership of `system:masters` makes an admin), as impersonation and access reviews name them.
    pub fn from_username(username: &str, groups: &[String]) -> Self {
        if let Some(rest) = username.strip_prefix("system:serviceaccount:")
            && let Some((namespace, name)) = rest.split_once(':')
        {
            return Self::service_account(namespace, name);
        }
        if username == "admin" || groups.iter().any(|g| g == "system:masters") {
            return Self::Admin;
        }
        Self::User {
            name: username.into(),
            groups: groups.to_vec(),
        }
    }

    /// The user name RBAC subjects and Forbidden messages use.
    pub fn username(&self) -> String {
        match self {
            KubeUser::Admin => "admin".into(),
            KubeUser::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
            KubeUser::User { name, .. } => name.clone(),
        }
    }

    /// The groups the user belongs to.
    pub fn groups(&self) -> Vec<String> {
        let mut groups = match self {
            KubeUser::Admin => vec!["system:masters".to_string()],
            KubeUser::ServiceAccount { namespace, .. } => vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
            KubeUser::User { groups, .. } => groups.clone(),
        };
        groups.push("system:authenticated".into());
        groups
    }

    /// Whether RBAC is bypassed.
    pub fn is_admin(&self) -> bool {
        matches!(self, KubeUser::Admin)
    }

    /// A name usable in a kubeconfig (`users[].name`, `contexts[].name`).
    pub fn kubeconfig_name(&self) -> String {
        self.username().replace(':', "-")
    }
}

/// Bearer tokens of the known users.
#[derive(Debug, Default)]
pub struct Authenticator {
    tokens: RwLock<HashMap<String, KubeUser>>,
}

impl Authenticator {
    /// The token of `user`, minting one on first use.
    pub fn token_for(&self, user: &KubeUser) -> String {
        let mut tokens = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        if let Some((token, _)) = tokens.iter().find(|(_, u)| *u == user) {
            return token.clone();
        }
        let token = format!(
            "ringcache-{:016x}{:016x}",
            meta::random_u64(),
            meta::random_u64()
        );
        tokens.insert(token.clone(), user.clone());
        token
    }

    /// The user of an `Authorization` header value, if it carries a known bearer token.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<KubeUser> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        let tokens = self.tokens.read().unwrap_or_else(|p| p.into_inner());
        tokens.get(token).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_user_and_authenticate() {
        let auth = Authenticator::default();
        let sa = KubeUser::service_account("ns", "op");
        let token = auth.token_for(&sa);
        assert_eq!(auth.token_for(&sa), token);
        assert_ne!(auth.token_for(&KubeUser::Admin), token);
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {token}"))),
            Some(sa.clone())
        );
        assert_eq!(auth.authenticate(Some("Bearer nope")), None);
        assert_eq!(auth.authenticate(None), None);
        assert_eq!(sa.username(), "system:serviceaccount:ns:op");
        assert!(
            sa.groups()
                .contains(&"system:serviceaccounts:ns".to_string())
        );
    }
}
