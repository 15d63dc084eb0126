//! `spec.tls`: TLS for the cluster's ports, from a Secret the user owns (what cert-manager writes).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// TLS on the Redis port (clients connect with `redis-cli --tls`, `rediss://`) and mutual TLS on
/// the cluster port between the members, from one certificate. Off when unset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// Name of a Secret of type `kubernetes.io/tls` in the CacheCluster's namespace: `tls.crt`
    /// (the certificate, with its chain), `tls.key`, and optionally `ca.crt` (the CA the members
    /// verify each other with; without it they trust the last certificate of the chain). The
    /// certificate must name the addresses clients and members use: `<name>.<namespace>.svc` and
    /// `*.<name>-nodes.<namespace>.svc`. The operator mounts it and never reads it; a changed
    /// certificate is picked up by the members within seconds, without a restart.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
}
