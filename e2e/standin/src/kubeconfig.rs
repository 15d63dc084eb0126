//! [`KubeconfigFile`]: kubeconfig documents that point `kubectl`, kube-rs or the operator binary at a
//! stand-in as one user (a bearer token over plain HTTP on loopback).

use super::users::KubeUser;
use serde_json::json;

/// A kubeconfig for one user of one stand-in.
#[derive(Debug, Clone)]
pub struct KubeconfigFile {
    /// Server URL (`http://127.0.0.1:<port>`).
    pub server: String,
    /// The user.
    pub user: KubeUser,
    /// Its bearer token.
    pub token: String,
    /// Default namespace of the context.
    pub namespace: String,
}

/// Name of the cluster entry.
pub const CLUSTER_NAME: &str = "ringcache-standin";

impl KubeconfigFile {
    /// The context name (`<user>@ringcache-standin`).
    pub fn context_name(&self) -> String {
        format!("{}@{CLUSTER_NAME}", self.user.kubeconfig_name())
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        let user = self.user.kubeconfig_name();
        let context = self.context_name();
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": self.server}}],
            "users": [{"name": user, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": CLUSTER_NAME, "user": user, "namespace": self.namespace}}],
            "current-context": context,
            "preferences": {},
        });
        serde_yaml::to_string(&doc)
    }
}
