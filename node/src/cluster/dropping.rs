//! Whether `DELETE /v1/partitions/{p}` may delete this member's replica of `p`: only once the
//! group no longer counts it, so dropping can never take a voter (and its copy of acknowledged
//! writes) away from a group that still relies on it.

use ringcache_admin::{PartitionStatus, Role};
use ringcache_replication::GroupStatus;

/// What [`drop_decision`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropDecision {
    /// Not hosted here: nothing to drop (dropping is idempotent).
    NotHosted,
    /// Its own view of the group does not list this member (never added, or removed and told so).
    NotListed,
    /// The only replica its group has: no other replica relies on it being there.
    SoleReplica,
    /// The group's leader reported a settled configuration without this member, in a term and at
    /// a commit index at least as recent as this replica's own log.
    RemovedPerLeader,
    /// The group still lists this member as a replica: remove it on the leader first.
    StillAReplica,
}

impl DropDecision {
    pub fn allows_drop(self) -> bool {
        self != DropDecision::StillAReplica
    }
}

/// Decides whether member `me` may drop its replica, from the replica's own view of its group
/// (`None`: not hosted) and the latest report of the partition another member gave
/// (`CLUSTER RINGCACHE-ROUTES`, kept in the route table).
///
/// A removed replica cannot see its removal itself: the leader stops replicating to it once the
/// joint configuration is committed, so its own view stays the joint one that still lists it.
/// Only the leader's later report shows that it is gone.
pub fn drop_decision(
    own_view: Option<&GroupStatus>,
    me: u64,
    leader_report: Option<&PartitionStatus>,
) -> DropDecision {
    let Some(own_view) = own_view else {
        return DropDecision::NotHosted;
    };
    let listed = own_view
        .voters
        .keys()
        .chain(own_view.learners.keys())
        .any(|id| id.as_u64() == me);
    if !listed {
        return DropDecision::NotListed;
    }
    if own_view.voters.len() + own_view.learners.len() <= 1 {
        return DropDecision::SoleReplica;
    }
    let removed_per_leader = leader_report.is_some_and(|report| {
        report.role == Role::Leader
            && report.term >= own_view.term
            && !report.joint
            && report.committed_index >= own_view.last_log_index
            && report
                .voters
                .iter()
                .chain(&report.learners)
                .all(|replica| replica.id != me)
    });
    if removed_per_leader {
        DropDecision::RemovedPerLeader
    } else {
        DropDecision::StillAReplica
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ringcache_admin::Replica;
    use ringcache_replication::RaftNodeId;

    use super::*;

    fn id(ordinal: u16) -> RaftNodeId {
        RaftNodeId::new(ordinal, 1)
    }

    fn address(ordinal: u16) -> String {
        format!("m{ordinal}:6379@16379")
    }

    fn replica(ordinal: u16) -> Replica {
        Replica {
            id: id(ordinal).as_u64(),
            ordinal,
            address: address(ordinal),
        }
    }

    const ME: u16 = 2;

    /// Member 2's view while being removed: the joint configuration, which still lists it.
    fn own_view() -> GroupStatus {
        GroupStatus {
            id: id(ME),
            role: ringcache_replication::Role::Follower,
            term: 5,
            leader: Some((id(0), address(0))),
            voters: [0, 1, 2, 3]
                .into_iter()
                .map(|ordinal| (id(ordinal), address(ordinal)))
                .collect(),
            learners: BTreeMap::new(),
            joint: true,
            last_log_index: Some(40),
            committed_index: Some(39),
            applied_index: Some(39),
            catch_up_target: Some(10),
            snapshot_index: None,
            purged_index: None,
            replication: BTreeMap::new(),
        }
    }

    /// The leader's report once member 2 is out: voters 0, 1, 3.
    fn leader_report() -> PartitionStatus {
        PartitionStatus {
            partition: 4,
            slots: [0, 99],
            role: Role::Leader,
            term: 5,
            leader: Some(replica(0)),
            voters: vec![replica(0), replica(1), replica(3)],
            learners: vec![],
            joint: false,
            last_log_index: Some(42),
            committed_index: Some(42),
            applied_index: Some(42),
            snapshot_index: None,
            keys: 0,
            used_memory: 0,
            replication: vec![],
        }
    }

    fn decide(own: &GroupStatus, report: Option<&PartitionStatus>) -> DropDecision {
        drop_decision(Some(own), id(ME).as_u64(), report)
    }

    #[test]
    fn a_replica_the_leader_reports_removed_may_be_dropped() {
        let decision = decide(&own_view(), Some(&leader_report()));
        assert_eq!(decision, DropDecision::RemovedPerLeader);
        assert!(decision.allows_drop());
    }

    #[test]
    fn a_replica_still_in_the_group_is_refused() {
        let mut still_listed = leader_report();
        still_listed.learners.push(replica(ME));
        for report in [None, Some(&still_listed)] {
            let decision = decide(&own_view(), report);
            assert_eq!(decision, DropDecision::StillAReplica, "{report:?}");
            assert!(!decision.allows_drop());
        }
    }

    #[test]
    fn only_a_settled_current_leader_report_proves_the_removal() {
        let follower = PartitionStatus {
            role: Role::Follower,
            ..leader_report()
        };
        let older_term = PartitionStatus {
            term: 4,
            ..leader_report()
        };
        let joint = PartitionStatus {
            joint: true,
            ..leader_report()
        };
        let behind_own_log = PartitionStatus {
            committed_index: Some(39),
            ..leader_report()
        };
        for report in [follower, older_term, joint, behind_own_log] {
            assert_eq!(
                decide(&own_view(), Some(&report)),
                DropDecision::StillAReplica,
                "{report:?}"
            );
        }
    }

    #[test]
    fn a_replica_not_hosted_or_not_listed_may_be_dropped() {
        assert_eq!(
            drop_decision(None, id(ME).as_u64(), None),
            DropDecision::NotHosted
        );
        let never_added = GroupStatus {
            voters: BTreeMap::new(),
            joint: false,
            ..own_view()
        };
        assert_eq!(decide(&never_added, None), DropDecision::NotListed);
        assert!(DropDecision::NotListed.allows_drop());
    }

    #[test]
    fn the_only_replica_of_its_group_may_be_dropped() {
        let alone = GroupStatus {
            voters: [(id(ME), address(ME))].into_iter().collect(),
            joint: false,
            ..own_view()
        };
        assert_eq!(decide(&alone, None), DropDecision::SoleReplica);
    }
}
