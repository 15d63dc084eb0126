//! Whether a member is ready (`/readyz`), decided from what it hosts.
//!
//! Ready means: clients may be sent here and a rolling restart may move on to the next member.
//! A member serves every partition either from a voter it hosts or by forwarding to the leader,
//! so what can make it wrong to send clients here is a hosted *voter* that has not caught up
//! since the process started (its data may be older than what the group committed while it was
//! down). Replicas that are not voters never serve a read or count towards a commit: a replica
//! waiting to be added (no voters known yet), a learner catching up, or one removed and not yet
//! dropped. They do not hold readiness up, so a member that receives replicas during a rebalance
//! stays ready, and a new member that hosts nothing yet is ready as soon as it joined.

use ringcache_replication::{CatchUp, GroupStatus};

/// Why `replica` (one hosted replica's own view of its group) keeps its member from being ready,
/// if it does: only a voter that has not caught up (see [`GroupStatus::catch_up`]).
pub fn replica_holds_up_readiness(replica: &GroupStatus) -> Option<CatchUp> {
    if !replica.is_voter() {
        return None;
    }
    let catch_up = replica.catch_up();
    (!catch_up.is_caught_up()).then_some(catch_up)
}

/// The member's readiness: joined, and no hosted replica holds it up. `replicas` are the hosted
/// partitions with their replica's view; the first one holding readiness up is named.
pub fn member_readiness(
    joined: bool,
    replicas: impl IntoIterator<Item = (u32, GroupStatus)>,
) -> Result<(), String> {
    if !joined {
        return Err(
            "not part of a cluster yet (POST /v1/cluster/form or /v1/cluster/join)".to_owned(),
        );
    }
    for (partition, replica) in replicas {
        if let Some(catch_up) = replica_holds_up_readiness(&replica) {
            return Err(format!("partition {partition}: {catch_up}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ringcache_replication::{RaftNodeId, Role};

    use super::*;

    fn me() -> RaftNodeId {
        RaftNodeId::new(3, 1)
    }

    fn leader() -> (RaftNodeId, String) {
        (RaftNodeId::new(0, 1), "m0:6379@16379".to_owned())
    }

    fn members(ids: &[RaftNodeId]) -> BTreeMap<RaftNodeId, String> {
        ids.iter()
            .map(|id| (*id, format!("m{}:6379@16379", id.ordinal())))
            .collect()
    }

    /// A replica of a three-voter group, this member among the voters, caught up.
    fn voter() -> GroupStatus {
        GroupStatus {
            id: me(),
            role: Role::Follower,
            term: 4,
            leader: Some(leader()),
            voters: members(&[leader().0, RaftNodeId::new(1, 1), me()]),
            learners: BTreeMap::new(),
            joint: false,
            last_log_index: Some(50),
            committed_index: Some(50),
            applied_index: Some(50),
            catch_up_target: Some(50),
            snapshot_index: None,
            purged_index: None,
            replication: BTreeMap::new(),
        }
    }

    /// Hosted with `PUT /v1/partitions/{p}`, not added to the group yet: openraft knows nothing.
    fn waiting_to_be_added() -> GroupStatus {
        GroupStatus {
            role: Role::Learner,
            term: 0,
            leader: None,
            voters: BTreeMap::new(),
            last_log_index: None,
            committed_index: None,
            applied_index: None,
            catch_up_target: None,
            ..voter()
        }
    }

    /// Added as a learner, far behind its leader.
    fn learner_catching_up() -> GroupStatus {
        GroupStatus {
            role: Role::Learner,
            voters: members(&[leader().0, RaftNodeId::new(1, 1), RaftNodeId::new(2, 1)]),
            learners: members(&[me()]),
            applied_index: Some(3),
            catch_up_target: Some(50),
            ..voter()
        }
    }

    #[test]
    fn a_joined_member_hosting_nothing_is_ready() {
        assert_eq!(member_readiness(true, []), Ok(()));
    }

    #[test]
    fn a_member_that_has_not_joined_is_not_ready() {
        let reason = member_readiness(false, []).unwrap_err();
        assert!(reason.contains("/v1/cluster/join"), "{reason}");
    }

    #[test]
    fn replicas_that_are_not_voters_do_not_hold_readiness_up() {
        let removed = GroupStatus {
            voters: members(&[leader().0, RaftNodeId::new(1, 1), RaftNodeId::new(2, 1)]),
            leader: None,
            ..voter()
        };
        for replica in [waiting_to_be_added(), learner_catching_up(), removed] {
            assert_eq!(replica_holds_up_readiness(&replica), None, "{replica:?}");
        }
        assert_eq!(
            member_readiness(
                true,
                [(0, waiting_to_be_added()), (1, learner_catching_up())]
            ),
            Ok(())
        );
    }

    #[test]
    fn a_caught_up_voter_keeps_its_member_ready() {
        assert_eq!(member_readiness(true, [(2, voter())]), Ok(()));
    }

    #[test]
    fn a_voter_restarted_from_disk_holds_readiness_up_until_its_leader_reached_it() {
        let restarted = GroupStatus {
            catch_up_target: None,
            ..voter()
        };
        assert_eq!(
            replica_holds_up_readiness(&restarted),
            Some(CatchUp::NotHeardFromLeader)
        );
        let reason = member_readiness(
            true,
            [(0, learner_catching_up()), (7, voter()), (9, restarted)],
        )
        .unwrap_err();
        assert!(
            reason.starts_with("partition 9: not yet reached"),
            "{reason}"
        );
    }

    #[test]
    fn a_voter_still_applying_or_without_a_leader_holds_readiness_up() {
        let applying = GroupStatus {
            applied_index: Some(20),
            ..voter()
        };
        assert_eq!(
            replica_holds_up_readiness(&applying),
            Some(CatchUp::Applying {
                applied: Some(20),
                target: 50
            })
        );
        let leaderless = GroupStatus {
            leader: None,
            ..voter()
        };
        assert_eq!(
            replica_holds_up_readiness(&leaderless),
            Some(CatchUp::NoLeader)
        );
    }

    #[test]
    fn a_promoted_learner_follows_the_voter_rule() {
        let promoted_behind = GroupStatus {
            voters: members(&[leader().0, RaftNodeId::new(1, 1), me()]),
            learners: BTreeMap::new(),
            ..learner_catching_up()
        };
        assert!(matches!(
            replica_holds_up_readiness(&promoted_behind),
            Some(CatchUp::Applying { .. })
        ));
    }
}
