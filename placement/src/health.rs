//! Health from what the members report (pure): which partitions lack a leader, a live majority, or
//! their full replication factor. The operator's `Available` and `Degraded` conditions say exactly
//! this; nothing here looks at pods or at the ring the operator aims for.
//!
//! A voter is *live* when its id is the current id of a member that answered and that member hosts
//! the partition. A leader counts only if its member answered: a follower's report may still name
//! a leader that died a moment ago.

use crate::observed::{ObservedCluster, ObservedGroup};
use crate::partition::{PartitionCount, PartitionId};

/// Partitions by what they lack, each list in partition order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// No answering member leads it (an election, a lost majority, or nobody reports it).
    pub without_leader: Vec<PartitionId>,
    /// Without a leader or without a live majority of its voters: writes to it cannot commit.
    pub without_quorum: Vec<PartitionId>,
    /// Fewer live voters than the replication factor.
    pub under_replicated: Vec<PartitionId>,
}

impl Health {
    /// Every partition can commit.
    pub fn available(&self) -> bool {
        self.without_quorum.is_empty()
    }
}

/// Live voters of `partition`'s group.
pub fn live_voters(
    observed: &ObservedCluster,
    partition: PartitionId,
    group: &ObservedGroup,
) -> usize {
    group
        .voters
        .iter()
        .filter(|replica| {
            !replica.stale
                && observed.members.get(&replica.member).is_some_and(|member| {
                    member.id == replica.id && member.hosted.contains(&partition)
                })
        })
        .count()
}

/// The health of every partition of `partitions` with `replication_factor` replicas each.
pub fn health(
    observed: &ObservedCluster,
    partitions: PartitionCount,
    replication_factor: u32,
) -> Health {
    let rf = replication_factor as usize;
    let mut health = Health::default();
    for partition in partitions.ids() {
        let Some(group) = observed.groups.get(&partition) else {
            health.without_leader.push(partition);
            health.without_quorum.push(partition);
            health.under_replicated.push(partition);
            continue;
        };
        let live = live_voters(observed, partition, group);
        let leads = group.leader.is_some_and(|leader| observed.answers(leader));
        // A majority of the configuration (during a move it has RF + 1 voters), and never less
        // than a majority of RF.
        let majority = rf.max(group.voters.len()) / 2 + 1;
        if !leads {
            health.without_leader.push(partition);
        }
        if !leads || live < majority {
            health.without_quorum.push(partition);
        }
        if live < rf {
            health.under_replicated.push(partition);
        }
    }
    health
}

/// `0, 3, 7` for up to `limit` partitions, then `and N more`.
pub fn name_partitions(partitions: &[PartitionId], limit: usize) -> String {
    let mut named: Vec<String> = partitions
        .iter()
        .take(limit)
        .map(ToString::to_string)
        .collect();
    if partitions.len() > limit {
        named.push(format!("and {} more", partitions.len() - limit));
    }
    named.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{ObservedMember, ObservedReplica};
    use std::collections::BTreeSet;

    fn id(member: u32) -> u64 {
        (u64::from(member) << 48) | 1
    }

    fn replica(member: u32) -> ObservedReplica {
        ObservedReplica {
            id: id(member),
            member,
            stale: false,
        }
    }

    /// Three members, one partition on all of them, led by member 0.
    fn cluster() -> ObservedCluster {
        let mut observed = ObservedCluster::default();
        for member in 0..3 {
            observed.members.insert(
                member,
                ObservedMember {
                    id: id(member),
                    joined: true,
                    hosted: BTreeSet::from([0]),
                    ..ObservedMember::default()
                },
            );
        }
        observed.groups.insert(
            0,
            ObservedGroup {
                voters: (0..3).map(replica).collect(),
                leader: Some(0),
                ..ObservedGroup::default()
            },
        );
        observed
    }

    fn one() -> PartitionCount {
        PartitionCount::new(1).unwrap()
    }

    #[test]
    fn a_full_group_is_healthy() {
        let health = health(&cluster(), one(), 3);
        assert_eq!(health, Health::default());
        assert!(health.available());
    }

    #[test]
    fn one_member_down_is_under_replicated_but_available() {
        let mut observed = cluster();
        observed.members.remove(&2);
        let health = health(&observed, one(), 3);
        assert_eq!(health.under_replicated, [0]);
        assert!(health.available());
    }

    #[test]
    fn a_lost_majority_is_unavailable_even_with_a_leader_reported() {
        let mut observed = cluster();
        observed.members.remove(&1);
        observed.members.remove(&2);
        let health = health(&observed, one(), 3);
        assert_eq!(health.without_quorum, [0]);
        assert!(
            health.without_leader.is_empty(),
            "member 0 still says it leads"
        );
        assert!(!health.available());
    }

    #[test]
    fn a_dead_leader_counts_as_no_leader() {
        let mut observed = cluster();
        observed.members.remove(&0);
        let health = health(&observed, one(), 3);
        assert_eq!(health.without_leader, [0]);
        assert_eq!(health.without_quorum, [0]);
    }

    #[test]
    fn replicas_removed_by_hand_or_replaced_ids_are_not_live() {
        let mut observed = cluster();
        // Member 1 came back empty with a new id; member 2's replica was removed from the group.
        observed.members.get_mut(&1).unwrap().id = id(1) + 1;
        observed.groups.get_mut(&0).unwrap().voters.truncate(2);
        let health = health(&observed, one(), 3);
        assert_eq!(health.under_replicated, [0]);
        assert_eq!(health.without_quorum, [0], "one live voter of two");
    }

    #[test]
    fn a_partition_nobody_reports_lacks_everything() {
        let observed = ObservedCluster::default();
        let health = health(&observed, PartitionCount::new(2).unwrap(), 3);
        assert_eq!(health.without_quorum, [0, 1]);
        assert_eq!(name_partitions(&health.without_quorum, 1), "0, and 1 more");
    }
}
