//! The plan-ring phase (pure): which ring to publish, how large the StatefulSet must be, and where
//! data movement stands.
//!
//! The published ring changes only when its replica moves are done. Moving replicas is a Raft
//! membership change driven through the nodes' admin API, which comes with the Raft issue; until
//! then a plan is computed and reported (`Pending`) but never executed, so the ring keeps the
//! member count the cluster was created with. The StatefulSet is never smaller than the ring: on
//! scale-out it grows at once, on scale-in it keeps the pods of members that still hold data.

use super::validate::ValidSpec;
use crate::api::{CacheCluster, RebalancePhase, RebalanceStatus};
use ringcache_placement::{Placement, PlacementSpec, plan};

/// Why no move runs while a plan is pending: the executor is not built yet.
pub const MOVER_NOT_AVAILABLE: &str =
    "replica moves run through the ringcache-node admin API, which is not built yet (Raft issue)";

/// The ring decision for one reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingDecision {
    /// Version of the ring to publish.
    pub version: i64,
    /// Member count of the ring to publish.
    pub members: i32,
    /// Replicas the StatefulSet gets.
    pub statefulset_replicas: i32,
    /// Data movement between the published ring and `spec.replicas`.
    pub rebalance: RebalanceStatus,
    /// Assigned partition replicas per member of the published ring (index = ordinal).
    pub loads: Vec<u32>,
}

/// Decides the ring from the spec and the ring recorded in status.
pub fn decide_ring(cluster: &CacheCluster, valid: &ValidSpec) -> RingDecision {
    let status = cluster.status.as_ref();
    let recorded = status.map_or(0, |status| status.ring_members);
    let (version, members) = if recorded < 1 {
        // A new cluster: its first ring is what the spec asks for.
        (1, valid.members as i32)
    } else {
        (
            status.map_or(1, |status| status.ring_version.max(1)),
            recorded,
        )
    };
    let placement_of = |count: i32| {
        Placement::compute(PlacementSpec {
            members: count as u32,
            partitions: valid.partitions,
            replication_factor: valid.replication_factor,
            seed: 0,
        })
    };
    let current = placement_of(members);
    let loads = current
        .as_ref()
        .map(|placement| placement.loads())
        .unwrap_or_default();
    let desired = valid.members as i32;
    let rebalance = if desired == members {
        RebalanceStatus {
            phase: RebalancePhase::Idle,
            from_members: members,
            to_members: desired,
            moves_done: 0,
            moves_total: 0,
            progress: "0/0".to_owned(),
            current_move: None,
            message: String::new(),
        }
    } else {
        let moves = match (&current, placement_of(desired)) {
            (Ok(current), Ok(target)) => plan(current, &target)
                .map(|plan| plan.moves.len() as i32)
                .map_err(|error| error.to_string()),
            (Err(error), _) => Err(error.to_string()),
            (_, Err(error)) => Err(error.to_string()),
        };
        let paused = cluster.spec.rebalance.paused;
        let (phase, message) = match &moves {
            Err(error) => (
                RebalancePhase::Pending,
                format!("no plan from {members} to {desired} members: {error}"),
            ),
            Ok(_) if paused => (
                RebalancePhase::Paused,
                "spec.rebalance.paused holds the moves".to_owned(),
            ),
            Ok(total) => (
                RebalancePhase::Pending,
                format!(
                    "{total} replica moves planned from {members} to {desired} members; {MOVER_NOT_AVAILABLE}"
                ),
            ),
        };
        let total = moves.unwrap_or(0);
        RebalanceStatus {
            phase,
            from_members: members,
            to_members: desired,
            moves_done: 0,
            moves_total: total,
            progress: format!("0/{total}"),
            current_move: None,
            message,
        }
    };
    RingDecision {
        version,
        members,
        statefulset_replicas: desired.max(members),
        rebalance,
        loads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CacheClusterStatus;
    use crate::build::desired::tests::cluster;
    use crate::reconcile::validate::validate;

    fn decide(cluster: &CacheCluster) -> RingDecision {
        decide_ring(cluster, &validate(cluster).unwrap())
    }

    fn with_ring(mut cluster: CacheCluster, version: i64, members: i32) -> CacheCluster {
        cluster.status = Some(CacheClusterStatus {
            ring_version: version,
            ring_members: members,
            ..CacheClusterStatus::default()
        });
        cluster
    }

    #[test]
    fn a_new_cluster_publishes_its_spec_as_ring_one() {
        let decision = decide(&cluster(4));
        assert_eq!(decision.version, 1);
        assert_eq!(decision.members, 4);
        assert_eq!(decision.statefulset_replicas, 4);
        assert_eq!(decision.rebalance.phase, RebalancePhase::Idle);
        assert_eq!(decision.loads, [48, 48, 48, 48]);
    }

    #[test]
    fn scale_out_grows_the_statefulset_and_plans_the_moves() {
        let decision = decide(&with_ring(cluster(4), 1, 3));
        assert_eq!((decision.version, decision.members), (1, 3));
        assert_eq!(decision.statefulset_replicas, 4);
        assert_eq!(decision.rebalance.phase, RebalancePhase::Pending);
        assert_eq!(decision.rebalance.moves_total, 48);
        assert_eq!(decision.rebalance.progress, "0/48");
        assert!(decision.rebalance.message.contains("not built yet"));
    }

    #[test]
    fn scale_in_keeps_the_pods_that_hold_data() {
        let decision = decide(&with_ring(cluster(3), 2, 4));
        assert_eq!(decision.statefulset_replicas, 4);
        assert_eq!(decision.rebalance.from_members, 4);
        assert_eq!(decision.rebalance.to_members, 3);
        assert_eq!(decision.rebalance.moves_total, 48);
    }

    #[test]
    fn paused_rebalance_is_reported_as_paused() {
        let mut paused = with_ring(cluster(5), 1, 3);
        paused.spec.rebalance.paused = true;
        assert_eq!(decide(&paused).rebalance.phase, RebalancePhase::Paused);
    }

    #[test]
    fn reverting_a_scale_out_shrinks_only_empty_pods() {
        // Ring 3, StatefulSet was grown to 5 for a scale-out that is then reverted to 3.
        let decision = decide(&with_ring(cluster(3), 1, 3));
        assert_eq!(decision.statefulset_replicas, 3);
        assert_eq!(decision.rebalance.phase, RebalancePhase::Idle);
    }
}
