//! `spec.podDisruptionBudget`: how many members voluntary disruptions (drains) may take at once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The PodDisruptionBudget the operator keeps for the cluster's pods.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudgetSpec {
    /// Whether the operator creates a PodDisruptionBudget. Turning it off deletes the one it made.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Most pods a voluntary disruption (node drain, eviction) may take down at once. Keep it below a
    /// majority of the replication factor so every partition keeps a Raft quorum.
    #[serde(default = "default_max_unavailable")]
    #[schemars(range(min = 0))]
    pub max_unavailable: i32,
}

impl Default for PodDisruptionBudgetSpec {
    fn default() -> Self {
        PodDisruptionBudgetSpec {
            enabled: default_enabled(),
            max_unavailable: default_max_unavailable(),
        }
    }
}

fn default_enabled() -> bool {
    true
}

fn default_max_unavailable() -> i32 {
    1
}
