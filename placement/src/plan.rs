//! Plans: the ordered replica moves that take one placement to another.
//!
//! A move relocates one replica of one partition from member `from` to member `to`. It runs as four
//! named steps, each a Raft membership operation that is idempotent (re-running a step that already
//! happened changes nothing), so an operator that restarts mid-plan simply re-runs the current step:
//!
//! ```text
//!   add-learner          `to` joins the partition's group as a learner and catches up (snapshot + log)
//!   promote              `to` becomes a voter: the group briefly has RF+1 voters
//!   transfer-leadership  if `from` leads the group, leadership moves to another voter
//!   remove-replica       `from` leaves the group: back to RF voters, `to` in `from`'s place
//! ```
//!
//! The new replica is always added before the old one is removed, so no partition ever has fewer than
//! RF voters during a plan. Moves off leaving members come first, highest ordinal first, so scale-in
//! empties the members the StatefulSet will delete; scale-out fills new members in ordinal order.

use crate::partition::PartitionId;
use crate::placement::{MemberId, Placement, PlacementSpec};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One replica of `partition` moving from member `from` to member `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaMove {
    /// The partition whose replica moves.
    pub partition: PartitionId,
    /// The member that gives the replica up.
    pub from: MemberId,
    /// The member that receives it.
    pub to: MemberId,
}

impl ReplicaMove {
    /// A stable name for the move, such as `p12:0->3`, used in status, events and logs.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// The steps of the move, in the order they run.
    pub fn steps(&self) -> [MoveStep; 4] {
        [
            MoveStep::AddLearner,
            MoveStep::Promote,
            MoveStep::TransferLeadership,
            MoveStep::RemoveReplica,
        ]
    }
}

impl fmt::Display for ReplicaMove {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "p{}:{}->{}", self.partition, self.from, self.to)
    }
}

/// One step of a [`ReplicaMove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveStep {
    /// Add the receiving member as a learner; done once it is a learner or a voter.
    AddLearner,
    /// Make the receiving member a voter; done once it is a voter.
    Promote,
    /// Move leadership off the giving member; done once it does not lead.
    TransferLeadership,
    /// Remove the giving member from the group; done once it is not in the group.
    RemoveReplica,
}

impl MoveStep {
    /// The step's name, as shown to users.
    pub fn name(self) -> &'static str {
        match self {
            MoveStep::AddLearner => "add-learner",
            MoveStep::Promote => "promote",
            MoveStep::TransferLeadership => "transfer-leadership",
            MoveStep::RemoveReplica => "remove-replica",
        }
    }

    /// Applies the step of `replica_move` to the membership of its partition. Idempotent: applying it
    /// to a membership where it already happened leaves the membership unchanged.
    pub fn apply(self, replica_move: &ReplicaMove, members: &mut ReplicaSet) {
        let ReplicaMove { from, to, .. } = *replica_move;
        match self {
            MoveStep::AddLearner => {
                if !members.voters.contains(&to) && !members.learners.contains(&to) {
                    members.learners.push(to);
                }
            }
            MoveStep::Promote => {
                if let Some(position) = members.learners.iter().position(|member| *member == to) {
                    members.learners.remove(position);
                    members.voters.push(to);
                }
            }
            MoveStep::TransferLeadership => {
                if members.leader == Some(from) {
                    members.leader = members
                        .voters
                        .iter()
                        .copied()
                        .find(|member| *member != from);
                }
            }
            MoveStep::RemoveReplica => {
                if let Some(position) = members.voters.iter().position(|member| *member == from) {
                    // `to` takes `from`'s position, keeping the preferred-leader order of the target.
                    members.voters.retain(|member| *member != to);
                    let position = position.min(members.voters.len());
                    members.voters[position] = to;
                }
            }
        }
    }
}

impl fmt::Display for MoveStep {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The membership of one partition's Raft group, as the plan steps see it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplicaSet {
    /// Voting members, preferred leader first.
    pub voters: Vec<MemberId>,
    /// Members catching up, not yet voting.
    pub learners: Vec<MemberId>,
    /// The current leader, if known.
    pub leader: Option<MemberId>,
}

impl ReplicaSet {
    /// The membership of `partition` in `placement`, led by its preferred leader.
    pub fn of(placement: &Placement, partition: PartitionId) -> Self {
        let voters = placement.replicas_of(partition).to_vec();
        let leader = voters.first().copied();
        ReplicaSet {
            voters,
            learners: Vec::new(),
            leader,
        }
    }
}

/// Why no plan exists between two placements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Partitions are fixed when a cluster is created.
    #[error("partition count differs ({from} vs {to}); partitions cannot change after creation")]
    PartitionCountDiffers {
        /// Partitions of the current placement.
        from: u32,
        /// Partitions of the target placement.
        to: u32,
    },
    /// Plans move replicas; they do not add or drop them.
    #[error("replication factor differs ({from} vs {to}); a plan only moves replicas")]
    ReplicationFactorDiffers {
        /// Replication factor of the current placement.
        from: u32,
        /// Replication factor of the target placement.
        to: u32,
    },
}

/// An ordered list of replica moves from one placement to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The placement the plan starts from.
    pub from: PlacementSpec,
    /// The placement the plan ends at.
    pub to: PlacementSpec,
    /// The moves, in the order they should run.
    pub moves: Vec<ReplicaMove>,
}

/// Computes the moves that take `from` to `to`.
pub fn plan(from: &Placement, to: &Placement) -> Result<Plan, PlanError> {
    let (from_spec, to_spec) = (from.spec(), to.spec());
    if from_spec.partitions != to_spec.partitions {
        return Err(PlanError::PartitionCountDiffers {
            from: from_spec.partitions.get(),
            to: to_spec.partitions.get(),
        });
    }
    if from_spec.replication_factor != to_spec.replication_factor {
        return Err(PlanError::ReplicationFactorDiffers {
            from: from_spec.replication_factor,
            to: to_spec.replication_factor,
        });
    }
    let mut moves = Vec::new();
    for partition in from_spec.partitions.ids() {
        let current = from.replicas_of(partition);
        let target = to.replicas_of(partition);
        // Pair each replica that leaves with one that arrives, position by position, so a move keeps
        // the target's preferred-leader order where it can.
        let leaving = current.iter().filter(|member| !target.contains(member));
        let arriving = target.iter().filter(|member| !current.contains(member));
        for (&giver, &receiver) in leaving.zip(arriving) {
            moves.push(ReplicaMove {
                partition,
                from: giver,
                to: receiver,
            });
        }
    }
    let target_members = to_spec.members;
    moves.sort_by_key(|replica_move| {
        let leaves_the_cluster = replica_move.from >= target_members;
        (
            std::cmp::Reverse(leaves_the_cluster),
            std::cmp::Reverse(if leaves_the_cluster {
                replica_move.from
            } else {
                0
            }),
            replica_move.to,
            replica_move.partition,
            replica_move.from,
        )
    });
    Ok(Plan {
        from: from_spec,
        to: to_spec,
        moves,
    })
}

impl Plan {
    /// Replays the plan on `placement`, move by move, as the operator would. Returns the resulting
    /// placement, or the first move that does not fit (its giver lacks the partition or its receiver
    /// already has it).
    pub fn replay(&self, placement: &Placement) -> Result<Placement, ReplicaMove> {
        let mut result = placement.clone().with_spec(self.to);
        for replica_move in &self.moves {
            if !result.replace_replica(replica_move.partition, replica_move.from, replica_move.to) {
                return Err(*replica_move);
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::PartitionCount;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn placement(members: u32, partitions: u32, replication_factor: u32, seed: u64) -> Placement {
        Placement::compute(PlacementSpec {
            members,
            partitions: PartitionCount::new(partitions).unwrap(),
            replication_factor,
            seed,
        })
        .unwrap()
    }

    /// Runs every step of every move on per-partition memberships, checking after each step that no
    /// partition has fewer than RF voters, and returns the final memberships.
    fn run_steps(from: &Placement, plan: &Plan) -> BTreeMap<PartitionId, ReplicaSet> {
        let replication_factor = from.spec().replication_factor as usize;
        let mut groups: BTreeMap<PartitionId, ReplicaSet> = from
            .spec()
            .partitions
            .ids()
            .map(|partition| (partition, ReplicaSet::of(from, partition)))
            .collect();
        for replica_move in &plan.moves {
            let group = groups.get_mut(&replica_move.partition).unwrap();
            for step in replica_move.steps() {
                step.apply(replica_move, group);
                assert!(
                    group.voters.len() >= replication_factor,
                    "{replica_move} after {step}: {group:?}"
                );
                // Idempotence: running the same step again changes nothing.
                let again = {
                    let mut copy = group.clone();
                    step.apply(replica_move, &mut copy);
                    copy
                };
                assert_eq!(&again, group, "{replica_move} {step} is not idempotent");
            }
            assert!(group.learners.is_empty());
            assert_ne!(group.leader, Some(replica_move.from));
        }
        groups
    }

    #[test]
    fn scale_out_by_one_moves_the_new_members_share() {
        let three = placement(3, 64, 3, 0);
        let four = placement(4, 64, 3, 0);
        let plan = plan(&three, &four).unwrap();
        assert_eq!(plan.moves.len(), 48);
        assert!(plan.moves.iter().all(|replica_move| replica_move.to == 3));
        assert_eq!(plan.replay(&three).unwrap(), four);
    }

    #[test]
    fn scale_in_empties_the_highest_ordinals_first() {
        let six = placement(6, 64, 3, 0);
        let four = placement(4, 64, 3, 0);
        let plan = plan(&six, &four).unwrap();
        let givers: Vec<MemberId> = plan
            .moves
            .iter()
            .map(|replica_move| replica_move.from)
            .collect();
        let first_from_four = givers.iter().position(|member| *member == 4).unwrap();
        assert!(givers[..first_from_four].iter().all(|member| *member == 5));
        assert!(givers[first_from_four..].iter().all(|member| *member == 4));
        assert_eq!(plan.replay(&six).unwrap(), four);
    }

    #[test]
    fn identical_placements_need_no_moves() {
        let five = placement(5, 16, 2, 9);
        assert!(plan(&five, &five).unwrap().moves.is_empty());
    }

    #[test]
    fn refuses_to_change_partitions_or_replication_factor() {
        assert_eq!(
            plan(&placement(3, 16, 3, 0), &placement(3, 64, 3, 0)),
            Err(PlanError::PartitionCountDiffers { from: 16, to: 64 })
        );
        assert_eq!(
            plan(&placement(3, 16, 3, 0), &placement(3, 16, 2, 0)),
            Err(PlanError::ReplicationFactorDiffers { from: 3, to: 2 })
        );
    }

    #[test]
    fn moves_have_stable_names() {
        let replica_move = ReplicaMove {
            partition: 12,
            from: 0,
            to: 3,
        };
        assert_eq!(replica_move.id(), "p12:0->3");
        let names: Vec<&str> = replica_move
            .steps()
            .iter()
            .map(|step| step.name())
            .collect();
        assert_eq!(
            names,
            [
                "add-learner",
                "promote",
                "transfer-leadership",
                "remove-replica"
            ]
        );
    }

    proptest! {
        #[test]
        fn plans_keep_rf_voters_and_reach_exactly_the_target(
            from in 1u32..=16,
            to in 1u32..=16,
            partitions in prop::sample::select(vec![16u32, 64, 256]),
            replication_factor in 1u32..=3,
            seed in any::<u64>(),
        ) {
            prop_assume!(from >= replication_factor && to >= replication_factor);
            let current = placement(from, partitions, replication_factor, seed);
            let target = placement(to, partitions, replication_factor, seed);
            let plan = plan(&current, &target).unwrap();
            prop_assert_eq!(plan.replay(&current).unwrap(), target.clone());
            let groups = run_steps(&current, &plan);
            for (partition, group) in groups {
                let mut voters = group.voters.clone();
                let mut expected = target.replicas_of(partition).to_vec();
                voters.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(voters, expected, "partition {}", partition);
            }
            // Scale-in: nothing is moved onto a member that is about to leave.
            prop_assert!(plan.moves.iter().all(|replica_move| replica_move.to < to));
        }
    }
}
