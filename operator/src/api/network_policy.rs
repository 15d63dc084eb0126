//! `spec.networkPolicy`: the NetworkPolicy the operator keeps in front of the cluster's pods, so that
//! only the members and the operator reach the cluster and admin ports.

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Most peers in one list: enough for any real policy, and a bound the API server's CEL cost
/// estimate needs for the peer rule.
pub const MAX_PEERS: u32 = 64;

/// The NetworkPolicy of the cluster's pods (ingress only). Port 16379 (cluster protocol) admits only
/// the cluster's own pods; port 9090 (admin API, `/metrics`) the cluster's pods, the operator and
/// `monitoring`; port 6379 (Redis) the cluster's pods and `clients`, or everyone when `clients` is
/// unset. It takes effect only where the network plugin enforces NetworkPolicies; kubelet probes
/// come from the node, which common plugins always admit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Whether the operator creates the NetworkPolicy. Turning it off deletes the one it made.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Who may connect to the Redis port (6379), as NetworkPolicy peers (podSelector and/or
    /// namespaceSelector, or ipBlock). Unset: any source. Set: only these peers and the cluster's
    /// own pods (members forward client requests to each other on this port); an empty list admits
    /// only the cluster's pods. With `service.type` NodePort or LoadBalancer, outside clients arrive
    /// from node addresses unless the Service keeps source addresses: list them as ipBlocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PEERS))]
    #[x_kube(validation = Rule::new(PEER_RULE).message(PEER_MESSAGE))]
    pub clients: Option<Vec<NetworkPolicyPeer>>,
    /// Who else may connect to the admin port (9090), besides the cluster's pods and the operator:
    /// typically the Prometheus that scrapes `/metrics` (a ServiceMonitor's scrapes come from
    /// Prometheus' pods). Every admin route but the probes and `/metrics` also needs the cluster
    /// secret, so this opens no admin operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PEERS))]
    #[x_kube(validation = Rule::new(PEER_RULE).message(PEER_MESSAGE))]
    pub monitoring: Option<Vec<NetworkPolicyPeer>>,
}

/// The API server's own rule for a peer, checked when the CacheCluster is written rather than when
/// the operator applies the NetworkPolicy: an ipBlock alone, or a pod and/or namespace selector.
const PEER_RULE: &str = "self.all(peer, has(peer.ipBlock) ? !has(peer.podSelector) && !has(peer.namespaceSelector) : has(peer.podSelector) || has(peer.namespaceSelector))";
const PEER_MESSAGE: &str =
    "every peer sets either ipBlock alone, or podSelector and/or namespaceSelector";

impl Default for NetworkPolicySpec {
    fn default() -> Self {
        NetworkPolicySpec {
            enabled: default_enabled(),
            clients: None,
            monitoring: None,
        }
    }
}

fn default_enabled() -> bool {
    true
}
