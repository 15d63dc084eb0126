//! `spec.selfRepair`: how the operator restores partitions that lost a replica.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Restoring every partition to `replicationFactor` live voters.
///
/// A replica whose id no live member carries (a member came back with an empty volume, or a
/// replica was removed by hand) is replaced at once on the member the ring names. A member that is
/// merely down (its pod restarting, its node rebooting) is given `gracePeriodSeconds` to come back
/// before its replicas are rebuilt on other members; when it returns they move back to it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelfRepairSpec {
    /// Rebuild lost replicas. When false, under-replicated partitions are only reported
    /// (`Degraded` with reason `UnderReplicated`).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Seconds a member may not answer before its replicas are rebuilt elsewhere. Long enough for
    /// a pod restart, so a rolling update never copies data.
    #[serde(default = "default_grace_period_seconds")]
    #[schemars(range(min = 0))]
    pub grace_period_seconds: i32,
}

impl Default for SelfRepairSpec {
    fn default() -> Self {
        SelfRepairSpec {
            enabled: default_enabled(),
            grace_period_seconds: default_grace_period_seconds(),
        }
    }
}

fn default_enabled() -> bool {
    true
}

fn default_grace_period_seconds() -> i32 {
    300
}
