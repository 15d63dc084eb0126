//! `spec.pod`: where and how the cache pods are scheduled (placement, priority, labels).

use k8s_openapi::api::core::v1::{Affinity, Toleration, TopologySpreadConstraint};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Scheduling and metadata of the cache pods.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecOptions {
    /// Affinity rules of the pods. When unset, the operator prefers to spread members over nodes
    /// (a preferred pod anti-affinity on `kubernetes.io/hostname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations of the pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Node labels a pod's node must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Topology spread constraints of the pods (for example over zones). The operator adds the
    /// cluster's label selector when a constraint has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Extra labels on the pods. The operator's own `app.kubernetes.io/*` labels win on conflict.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Seconds Kubernetes waits between asking a pod to stop and killing it. The pre-stop hook hands
    /// Raft leadership away first and needs part of this; values below 30 are refused.
    #[serde(default = "default_termination_grace_period_seconds")]
    #[schemars(range(min = 30, max = 3600))]
    pub termination_grace_period_seconds: i64,
}

impl Default for PodSpecOptions {
    fn default() -> Self {
        PodSpecOptions {
            affinity: None,
            tolerations: Vec::new(),
            node_selector: BTreeMap::new(),
            topology_spread_constraints: Vec::new(),
            priority_class_name: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            termination_grace_period_seconds: default_termination_grace_period_seconds(),
        }
    }
}

/// Default grace period: enough for the pre-stop hook's leadership hand-off (bounded by the node at
/// 30 seconds) plus a clean shutdown.
pub fn default_termination_grace_period_seconds() -> i64 {
    60
}

/// When the kubelet pulls the node image.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ImagePullPolicy {
    /// Pull on every pod start.
    Always,
    /// Pull only when the image is not on the node.
    #[default]
    IfNotPresent,
    /// Never pull; the image must be on the node.
    Never,
}

impl ImagePullPolicy {
    /// The name Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePullPolicy::Always => "Always",
            ImagePullPolicy::IfNotPresent => "IfNotPresent",
            ImagePullPolicy::Never => "Never",
        }
    }
}
