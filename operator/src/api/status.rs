//! `CacheCluster.status`: what the operator observed and decided, written after every reconcile.
//!
//! Progress lives here (ring version, rebalance moves) so a restarted or second operator resumes from
//! it instead of recomputing intent from transient state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
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
    /// Version of the target ring (member set and placement), also published in the cluster's
    /// ConfigMap. It increases by one whenever the operator adopts a new member count.
    #[serde(default)]
    pub ring_version: i64,
    /// Members of the target ring: the operator moves replicas until the StatefulSet ordinals
    /// `0..ringMembers` hold them as the ring places them (`rebalance` shows how far it is).
    #[serde(default)]
    pub ring_members: i32,
    /// One entry per pod of the StatefulSet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberStatus>,
    /// How evenly the members share partitions, leadership and data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<SpreadStatus>,
    /// Data movement toward the target ring.
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
    /// Whether the member belongs to the target ring.
    pub in_ring: bool,
    /// Partition replicas the target ring assigns to this member (0 outside the ring).
    pub assigned_replicas: i32,
    /// Partition replicas the member reports it hosts (absent when it did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_replicas: Option<i32>,
    /// Partitions the member leads, as their groups report.
    #[serde(default)]
    pub leader_of: i32,
    /// Estimated bytes of data the member holds (absent when it did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_memory_bytes: Option<i64>,
    /// Keys the member holds over all its replicas (absent when it did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<i64>,
    /// Since when the member has not answered the operator (absent while it answers). After
    /// `spec.selfRepair.gracePeriodSeconds` its replicas are rebuilt on other members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_answering_since: Option<Time>,
}

/// How evenly the members share the work: `fewest-most` over the members that answered.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpreadStatus {
    /// Partition replicas hosted per member, e.g. `38-39`.
    #[serde(default)]
    pub replicas: String,
    /// Partitions led per member, e.g. `12-13`.
    #[serde(default)]
    pub leaders: String,
    /// Estimated data per member, e.g. `61.0MiB-64.2MiB`.
    #[serde(default)]
    pub memory: String,
}

/// Progress of moving partition replicas to the ring `spec.replicas` asks for. Computed from what
/// the members report on every reconcile; only the counters and timestamps carry over from the
/// previous status, for people and Events.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceStatus {
    /// Where data movement stands.
    pub phase: RebalancePhase,
    /// Member count of the ring before the current target was adopted.
    pub from_members: i32,
    /// Member count of the target ring (`spec.replicas`).
    pub to_members: i32,
    /// Replica moves of the current target finished.
    pub moves_done: i32,
    /// Replica moves of the current target in all (done, in flight and still to start).
    pub moves_total: i32,
    /// `movesDone/movesTotal`, for `kubectl get`.
    pub progress: String,
    /// When the operator adopted the current target, if it needed moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Time>,
    /// The moves in flight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<MoveStatus>,
    /// Why the phase is what it is, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// One replica move in flight.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoveStatus {
    /// The partition whose replica moves.
    pub partition: i32,
    /// Ordinal of the member giving its replica up (-1: none, the partition lacked a replica).
    pub from: i32,
    /// Ordinal of the member receiving it (-1: not known, the receiver is already a voter).
    pub to: i32,
    /// The step it is at: `host`, `add-learner`, `catch-up`, `promote`, `transfer-leadership`,
    /// `remove-replica` or `drop`.
    pub step: String,
    /// When the move started.
    pub started: Time,
    /// When it last made progress (a new step, log entries or keys copied).
    pub last_progress: Time,
    /// Keys the receiver holds of the partition so far.
    #[serde(default)]
    pub keys_copied: i64,
    /// Highest log index the leader knows the receiver holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_index: Option<i64>,
    /// The last failed call of this move, if the step has not advanced since.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_error: String,
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
    /// Moves are needed but none can start yet (for example the new pods are not answering).
    Pending,
    /// Moves are running (onto new members, or repairing), or leadership is being balanced.
    Moving,
    /// Moves are emptying the members a scale-in removes.
    Draining,
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
    /// A scale-in is held because the remaining members could not hold the data.
    ScaleInBlocked,
}

impl ConditionType {
    /// Every type, in the order they are written.
    pub const ALL: [ConditionType; 5] = [
        ConditionType::Available,
        ConditionType::Progressing,
        ConditionType::Degraded,
        ConditionType::Rebalancing,
        ConditionType::ScaleInBlocked,
    ];

    /// The `type` string of the condition.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Available => "Available",
            ConditionType::Progressing => "Progressing",
            ConditionType::Degraded => "Degraded",
            ConditionType::Rebalancing => "Rebalancing",
            ConditionType::ScaleInBlocked => "ScaleInBlocked",
        }
    }
}
