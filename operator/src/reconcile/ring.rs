//! The ring phase (pure): which ring to aim for, its version, and how large the StatefulSet must be.
//!
//! The target ring is always `spec.replicas` members; the mover ([`ringcache_placement::mover`])
//! takes the observed placement there. The StatefulSet grows at once on scale-out (new members must
//! run before they can receive replicas) and shrinks only down to the highest member that still
//! holds anything (a replica in a group's configuration, or a copy on its disk), so a pod is never
//! deleted while it hosts data. Without a complete observation it does not shrink at all.

use super::validate::ValidSpec;
use crate::api::CacheCluster;
use ringcache_placement::{ObservedCluster, Placement, PlacementSpec};

/// The ring decision for one reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingDecision {
    /// Version of the target ring.
    pub version: i64,
    /// Member count of the ring before the current target was adopted.
    pub from_members: i32,
    /// Member count of the target ring.
    pub members: i32,
    /// True when this reconcile adopted a new target.
    pub adopted: bool,
    /// Replicas the StatefulSet gets.
    pub statefulset_replicas: i32,
    /// The target placement.
    pub target: Placement,
}

impl RingDecision {
    /// Replicas the target assigns to each member (index = ordinal).
    pub fn loads(&self) -> Vec<u32> {
        self.target.loads()
    }
}

/// What the data plane showed, as far as the StatefulSet's size is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holders {
    /// The cluster is not formed yet: nothing holds data.
    NotFormed,
    /// Members `0..n` may hold data; every partition's group was observed.
    Observed(u32),
    /// Some partition's group was not observed: what leaving members hold is unknown.
    Unknown,
}

impl Holders {
    /// From the observed placement.
    pub fn of(formed: bool, observed: &ObservedCluster, partitions: u32) -> Holders {
        if !formed {
            Holders::NotFormed
        } else if (0..partitions).all(|partition| observed.groups.contains_key(&partition)) {
            Holders::Observed(super::data_plane::members_holding_data(observed))
        } else {
            Holders::Unknown
        }
    }
}

/// Decides the ring from the spec, the previous status and what holds data.
pub fn decide_ring(
    cluster: &CacheCluster,
    valid: &ValidSpec,
    current_statefulset: Option<i32>,
    holders: Holders,
) -> RingDecision {
    let status = cluster.status.clone().unwrap_or_default();
    let members = valid.members as i32;
    let recorded = status.ring_members;
    let (version, from_members, adopted) = if recorded < 1 {
        (1, members, false)
    } else if recorded != members {
        (status.ring_version.max(0) + 1, recorded, true)
    } else {
        let from = status
            .rebalance
            .as_ref()
            .map_or(members, |rebalance| rebalance.from_members);
        (status.ring_version.max(1), from, false)
    };
    let current = current_statefulset.unwrap_or(0);
    let statefulset_replicas = match holders {
        Holders::NotFormed => members,
        Holders::Observed(holding) => members.max(holding as i32),
        Holders::Unknown => members.max(current),
    };
    let target = Placement::compute(PlacementSpec {
        members: valid.members,
        partitions: valid.partitions,
        replication_factor: valid.replication_factor,
        seed: 0,
    })
    .expect("validate() guarantees replicas >= replicationFactor >= 1");
    RingDecision {
        version,
        from_members,
        members,
        adopted,
        statefulset_replicas,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CacheClusterStatus;
    use crate::build::desired::tests::cluster;
    use crate::reconcile::validate::validate;

    fn decide(cluster: &CacheCluster, current: Option<i32>, holders: Holders) -> RingDecision {
        decide_ring(cluster, &validate(cluster).unwrap(), current, holders)
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
    fn a_new_cluster_targets_its_spec_as_ring_one() {
        let decision = decide(&cluster(4), None, Holders::NotFormed);
        assert_eq!((decision.version, decision.members), (1, 4));
        assert_eq!(decision.statefulset_replicas, 4);
        assert!(!decision.adopted);
        assert_eq!(decision.loads(), [48, 48, 48, 48]);
    }

    #[test]
    fn a_new_member_count_is_adopted_once_with_a_new_version() {
        let decision = decide(&with_ring(cluster(5), 1, 3), Some(3), Holders::Observed(3));
        assert_eq!((decision.version, decision.members), (2, 5));
        assert_eq!(decision.from_members, 3);
        assert!(decision.adopted);
        assert_eq!(decision.statefulset_replicas, 5, "scale-out grows at once");
        let again = decide(&with_ring(cluster(5), 2, 5), Some(5), Holders::Observed(5));
        assert_eq!(again.version, 2);
        assert!(!again.adopted);
    }

    #[test]
    fn scale_in_keeps_every_pod_that_holds_data() {
        let cluster = with_ring(cluster(3), 2, 3);
        assert_eq!(
            decide(&cluster, Some(5), Holders::Observed(5)).statefulset_replicas,
            5
        );
        assert_eq!(
            decide(&cluster, Some(5), Holders::Observed(4)).statefulset_replicas,
            4
        );
        assert_eq!(
            decide(&cluster, Some(5), Holders::Observed(3)).statefulset_replicas,
            3
        );
        assert_eq!(
            decide(&cluster, Some(5), Holders::Unknown).statefulset_replicas,
            5,
            "without a full observation nothing shrinks"
        );
    }
}
