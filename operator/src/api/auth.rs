//! `spec.auth`: where the cluster's password comes from (a Secret the user owns).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Password authentication for Redis clients, read from a Secret in the cluster's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Name of the Secret (in the CacheCluster's namespace) that holds the password. The operator
    /// mounts it read-only into every pod; clients must `AUTH` with its value. Changing the Secret's
    /// content takes effect when pods restart.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Key inside the Secret whose value is the password.
    #[serde(default = "default_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub secret_key: String,
}

fn default_secret_key() -> String {
    "password".to_owned()
}
