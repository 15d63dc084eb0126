//! The decisions of a membership change, as pure functions of what the leader sees (its
//! [`GroupStatus`]): the host's admin operations (`host/admin.rs`) only read the status, ask
//! here, and run what the answer says. Every operation is idempotent, so each decision first
//! recognizes a change that already took effect.

use crate::RaftNodeId;
use crate::status::GroupStatus;

/// Whether a replica that holds the log up to `matched` has caught up with `target` (the
/// leader's commit index when the promotion started). Promoting a replica that is further behind
/// would make commits wait for it. `None` means "nothing": a replica that holds nothing has
/// caught up only with a group that committed nothing.
pub(crate) fn caught_up(matched: Option<u64>, target: Option<u64>) -> bool {
    // `Option` orders `None` below every `Some`, which is exactly "holds nothing".
    matched >= target
}

/// What adding `node` at `address` as a learner takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LearnerAddition {
    /// Add it.
    Add,
    /// It is already a voter or a learner at that address: nothing to do.
    AlreadyMember,
    /// It is already a member, but at another address: adding it again would silently re-route
    /// the group's traffic for it, so the caller must remove it first.
    AddressConflict { known: String },
}

pub(crate) fn learner_addition(
    status: &GroupStatus,
    node: RaftNodeId,
    address: &str,
) -> LearnerAddition {
    let known = status
        .voters
        .get(&node)
        .or_else(|| status.learners.get(&node));
    match known {
        None => LearnerAddition::Add,
        Some(known) if known == address => LearnerAddition::AlreadyMember,
        Some(known) => LearnerAddition::AddressConflict {
            known: known.clone(),
        },
    }
}

/// What promoting `node` to voter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Promotion {
    /// A voter of a settled configuration already: nothing to do.
    AlreadyVoter,
    /// Neither voter nor learner: it must be added as a learner first.
    UnknownNode,
    /// Wait until it caught up, then make it a voter (also when it is a voter of a joint
    /// configuration still under way: the change settles it).
    WaitThenPromote,
}

pub(crate) fn promotion(status: &GroupStatus, node: RaftNodeId) -> Promotion {
    let voter = status.voters.contains_key(&node);
    if voter && !status.joint {
        Promotion::AlreadyVoter
    } else if !voter && !status.learners.contains_key(&node) {
        Promotion::UnknownNode
    } else {
        Promotion::WaitThenPromote
    }
}

/// What removing `node` from the group takes, decided on the leader `me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// The leader never removes itself: a group must not lose its leader half-way through a
    /// change. Transfer leadership first, then ask the new leader.
    RefuseLeaderSelf,
    /// Remove a voter (joint consensus under the hood).
    RemoveVoter,
    /// Remove a learner (it never counted towards any quorum).
    RemoveLearner,
    /// Not in the group (removed already, or never added): nothing to do.
    AlreadyGone,
}

pub(crate) fn removal(status: &GroupStatus, node: RaftNodeId, me: RaftNodeId) -> Removal {
    if node == me {
        Removal::RefuseLeaderSelf
    } else if status.voters.contains_key(&node) {
        Removal::RemoveVoter
    } else if status.learners.contains_key(&node) {
        Removal::RemoveLearner
    } else {
        Removal::AlreadyGone
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::status::Role;

    fn id(ordinal: u16) -> RaftNodeId {
        RaftNodeId::new(ordinal, 1)
    }

    fn address(ordinal: u16) -> String {
        format!("m{ordinal}:6379@16379")
    }

    /// Leader 0 of voters 0, 1, 2 and learner 3.
    fn leader_view() -> GroupStatus {
        let members = |ordinals: &[u16]| -> BTreeMap<RaftNodeId, String> {
            ordinals
                .iter()
                .map(|ordinal| (id(*ordinal), address(*ordinal)))
                .collect()
        };
        GroupStatus {
            id: id(0),
            role: Role::Leader,
            term: 2,
            leader: Some((id(0), address(0))),
            voters: members(&[0, 1, 2]),
            learners: members(&[3]),
            joint: false,
            last_log_index: Some(20),
            committed_index: Some(20),
            applied_index: Some(20),
            catch_up_target: Some(5),
            snapshot_index: None,
            purged_index: None,
            replication: BTreeMap::new(),
        }
    }

    #[test]
    fn a_replica_has_caught_up_once_it_holds_the_target() {
        assert!(caught_up(Some(20), Some(20)));
        assert!(caught_up(Some(21), Some(20)));
        assert!(!caught_up(Some(19), Some(20)));
    }

    #[test]
    fn a_replica_holding_nothing_has_caught_up_only_with_an_empty_group() {
        assert!(!caught_up(None, Some(0)));
        assert!(caught_up(None, None));
        assert!(caught_up(Some(0), None));
    }

    #[test]
    fn a_new_node_is_added_and_a_known_one_is_not_added_twice() {
        let status = leader_view();
        assert_eq!(
            learner_addition(&status, id(4), &address(4)),
            LearnerAddition::Add
        );
        assert_eq!(
            learner_addition(&status, id(3), &address(3)),
            LearnerAddition::AlreadyMember
        );
        assert_eq!(
            learner_addition(&status, id(1), &address(1)),
            LearnerAddition::AlreadyMember,
            "a voter is a member too"
        );
    }

    #[test]
    fn a_known_node_at_another_address_is_a_conflict() {
        assert_eq!(
            learner_addition(&leader_view(), id(3), "elsewhere:6379@16379"),
            LearnerAddition::AddressConflict { known: address(3) }
        );
    }

    #[test]
    fn promotion_waits_for_a_learner_and_skips_a_settled_voter() {
        let status = leader_view();
        assert_eq!(promotion(&status, id(3)), Promotion::WaitThenPromote);
        assert_eq!(promotion(&status, id(1)), Promotion::AlreadyVoter);
        assert_eq!(promotion(&status, id(9)), Promotion::UnknownNode);
    }

    #[test]
    fn a_voter_of_a_joint_configuration_is_promoted_again_to_settle_it() {
        let joint = GroupStatus {
            joint: true,
            ..leader_view()
        };
        assert_eq!(promotion(&joint, id(1)), Promotion::WaitThenPromote);
    }

    #[test]
    fn removal_tells_voters_learners_and_strangers_apart() {
        let status = leader_view();
        assert_eq!(removal(&status, id(2), id(0)), Removal::RemoveVoter);
        assert_eq!(removal(&status, id(3), id(0)), Removal::RemoveLearner);
        assert_eq!(removal(&status, id(9), id(0)), Removal::AlreadyGone);
    }

    #[test]
    fn the_leader_refuses_to_remove_itself_even_when_asked_twice() {
        let status = leader_view();
        assert_eq!(removal(&status, id(0), id(0)), Removal::RefuseLeaderSelf);
        let without_it = GroupStatus {
            voters: status
                .voters
                .iter()
                .filter(|(voter, _)| **voter != id(0))
                .map(|(voter, address)| (*voter, address.clone()))
                .collect(),
            ..status
        };
        assert_eq!(
            removal(&without_it, id(0), id(0)),
            Removal::RefuseLeaderSelf,
            "checked before membership, so a leader never reports itself gone"
        );
    }
}
