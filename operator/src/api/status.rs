//! `CacheCluster.status`: what the operator observed and decided, written after every reconcile.
//!
//! Progress lives here (ring version, rebalance moves) so a restarted or second operator resumes from
//! it instead of recomputing intent from transient state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a CacheCluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One-word summary: `Pending`, `Creating`, `Running`, `Scaling`, `Degraded` or `Invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ClusterPhase>,
    /// Pods of the cluster's StatefulSet (what the scale subresource reports as current replicas).
    #[serde(default)]
    pub replicas: i32,
    /// Pods that pass their readiness check.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Label selector of the cluster's pods, as a string (used by the scale subresource and HPAs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Partitions of the cluster, recorded at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// Version of the ring (member set and placement) the operator has published to the nodes in
    /// the cluster's ConfigMap. It increases by one with every change of the ring's member count.
    #[serde(default)]
    pub ring_version: i64,
    /// Members of the published ring: the StatefulSet ordinals `0..ringMembers` hold partition
    /// replicas. Differs from `spec.replicas` while a scale operation is pending or moving data.
    #[serde(default)]
    pub ring_members: i32,
    /// One entry per pod of the StatefulSet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberStatus>,
    /// Data movement between the published ring and the one `spec.replicas` asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance: Option<RebalanceStatus>,
    /// Standard conditions: `Available`, `Progressing`, `Degraded` and `Rebalancing`, each with the
    /// generation it was computed for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One member (pod) of the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// StatefulSet ordinal, which is also the member's id in the placement ring.
    pub ordinal: i32,
    /// Pod name.
    pub pod: String,
    /// Whether the pod passes its readiness check.
    pub ready: bool,
    /// Whether the member belongs to the published ring.
    pub in_ring: bool,
    /// Partition replicas the published ring assigns to this member (0 outside the ring).
    pub assigned_replicas: i32,
}

/// Progress of moving partition replicas from the published ring to the desired one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceStatus {
    /// Where data movement stands.
    pub phase: RebalancePhase,
    /// Member count of the published ring.
    pub from_members: i32,
    /// Member count `spec.replicas` asks for.
    pub to_members: i32,
    /// Replica moves finished.
    pub moves_done: i32,
    /// Replica moves the plan has in all.
    pub moves_total: i32,
    /// `movesDone/movesTotal`, for `kubectl get`.
    pub progress: String,
    /// The move in flight, as `p<partition>:<from>-><to>`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_move: Option<String>,
    /// Why the phase is what it is, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Overall phase of a cluster (a summary; the conditions are authoritative).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClusterPhase {
    /// Nothing observed yet.
    Pending,
    /// Pods exist but not all members of the ring are ready yet.
    Creating,
    /// Every ring member is ready and the ring matches `spec.replicas`.
    Running,
    /// `spec.replicas` differs from the ring: pods are being added or data has to move.
    Scaling,
    /// Some ring member is not ready, or an object could not be applied.
    Degraded,
    /// The spec is invalid; nothing was applied (see the `Degraded` condition).
    Invalid,
}

/// Phase of data movement.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RebalancePhase {
    /// The ring matches `spec.replicas`; nothing to move.
    #[default]
    Idle,
    /// A plan exists but no move can start yet (for example new pods are not ready, or the data
    /// mover is not available).
    Pending,
    /// Moves are running.
    Moving,
    /// `spec.rebalance.paused` holds the moves.
    Paused,
    /// A move made no progress within `spec.rebalance.progressDeadlineSeconds`.
    Stalled,
}

/// The condition types a CacheCluster reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionType {
    /// Every partition has a ready majority of its replicas.
    Available,
    /// The operator is changing something (objects rolling out, a scale operation pending).
    Progressing,
    /// Something needs attention: an invalid spec, a member not ready, an object that cannot be
    /// applied.
    Degraded,
    /// Partition replicas are moving.
    Rebalancing,
}

impl ConditionType {
    /// Every type, in the order they are written.
    pub const ALL: [ConditionType; 4] = [
        ConditionType::Available,
        ConditionType::Progressing,
        ConditionType::Degraded,
        ConditionType::Rebalancing,
    ];

    /// The `type` string of the condition.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Available => "Available",
            ConditionType::Progressing => "Progressing",
            ConditionType::Degraded => "Degraded",
            ConditionType::Rebalancing => "Rebalancing",
        }
    }
}
