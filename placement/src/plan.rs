//! Plans: the ordered replica moves that take one placement to another.
//!
//! A move relocates one replica of one partition from member `from` to member `to`. The mover
//! ([`crate::mover`]) runs it as named steps, each an idempotent admin call whose precondition it
//! observes, so an operator that restarts mid-plan resumes at the step the cluster shows:
//!
//! ```text
//!   host                 `to` hosts an empty replica of the partition
//!   add-learner          `to` joins the partition's group as a learner
//!   catch-up             (no call) `to` receives a snapshot and the log until it is close behind
//!   promote              `to` becomes a voter: the group briefly has RF+1 voters
//!   transfer-leadership  if `from` leads the group, leadership moves to another voter
//!   remove-replica       `from` leaves the group: back to RF voters, `to` in `from`'s place
//!   drop                 `from` deletes its copy
//! ```
//!
//! [`plan`] is the mover itself run on a simulated cluster ([`crate::simulate`]) from the settled
//! `from` placement, so `ringcache-operator plan` previews exactly the moves, in the order, that the
//! operator makes. New replicas are added before old ones are removed; moves off leaving members come
//! first, highest ordinal first, so scale-in empties the members the StatefulSet will delete.

use crate::partition::PartitionId;
use crate::placement::{MemberId, Placement, PlacementSpec};
use crate::simulate::{Simulation, settled};
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

    /// The steps of the move, in the order they run (transfer-leadership only if `from` leads).
    pub fn steps(&self) -> [MoveStep; 7] {
        MoveStep::ALL
    }
}

impl fmt::Display for ReplicaMove {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "p{}:{}->{}", self.partition, self.from, self.to)
    }
}

/// One step of a [`ReplicaMove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveStep {
    /// The receiving member hosts an empty replica.
    Host,
    /// The receiving member joins the group as a learner.
    AddLearner,
    /// The learner receives a snapshot and the log (nothing to call; observed through its lag).
    CatchUp,
    /// The learner becomes a voter.
    Promote,
    /// Leadership moves off the giving member.
    TransferLeadership,
    /// The giving member leaves the group.
    RemoveReplica,
    /// The giving member deletes its copy.
    Drop,
}

impl MoveStep {
    /// Every step, in order.
    pub const ALL: [MoveStep; 7] = [
        MoveStep::Host,
        MoveStep::AddLearner,
        MoveStep::CatchUp,
        MoveStep::Promote,
        MoveStep::TransferLeadership,
        MoveStep::RemoveReplica,
        MoveStep::Drop,
    ];

    /// The step's name, as shown to users (status, events, metrics).
    pub fn name(self) -> &'static str {
        match self {
            MoveStep::Host => "host",
            MoveStep::AddLearner => "add-learner",
            MoveStep::CatchUp => "catch-up",
            MoveStep::Promote => "promote",
            MoveStep::TransferLeadership => "transfer-leadership",
            MoveStep::RemoveReplica => "remove-replica",
            MoveStep::Drop => "drop",
        }
    }
}

impl fmt::Display for MoveStep {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
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
    // The mover on a simulated cluster that starts settled on `from`, every partition at once (the
    // same moves as one at a time, in far fewer rounds), listed in the order the mover starts them
    // one at a time: off leaving members first, highest ordinal first, then by receiver.
    let members = from_spec.members.max(to_spec.members);
    let Simulation { moves, .. } = crate::simulate::run(settled(from, members), to, usize::MAX);
    let mut moves: Vec<ReplicaMove> = moves
        .into_iter()
        .filter_map(|started| {
            Some(ReplicaMove {
                partition: started.partition,
                from: started.from?,
                to: started.to,
            })
        })
        .collect();
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

    fn placement(members: u32, partitions: u32, replication_factor: u32, seed: u64) -> Placement {
        Placement::compute(PlacementSpec {
            members,
            partitions: PartitionCount::new(partitions).unwrap(),
            replication_factor,
            seed,
        })
        .unwrap()
    }

    /// Same replica sets per partition (the order within a set, preferred leader first, is the
    /// leadership balancer's business, not the plan's).
    fn assert_same_replicas(got: &Placement, want: &Placement) {
        for partition in want.spec().partitions.ids() {
            let mut got = got.replicas_of(partition).to_vec();
            let mut want = want.replicas_of(partition).to_vec();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "partition {partition}");
        }
    }

    #[test]
    fn scale_out_by_one_moves_the_new_members_share() {
        let three = placement(3, 64, 3, 0);
        let four = placement(4, 64, 3, 0);
        let plan = plan(&three, &four).unwrap();
        assert_eq!(plan.moves.len(), 48);
        assert!(plan.moves.iter().all(|replica_move| replica_move.to == 3));
        assert_same_replicas(&plan.replay(&three).unwrap(), &four);
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
        assert_same_replicas(&plan.replay(&six).unwrap(), &four);
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
                "host",
                "add-learner",
                "catch-up",
                "promote",
                "transfer-leadership",
                "remove-replica",
                "drop"
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
            assert_same_replicas(&plan.replay(&current).unwrap(), &target);
            // As many moves as replicas that change member, no more.
            let changed: usize = current
                .spec()
                .partitions
                .ids()
                .map(|partition| {
                    target
                        .replicas_of(partition)
                        .iter()
                        .filter(|member| !current.replicas_of(partition).contains(member))
                        .count()
                })
                .sum();
            prop_assert_eq!(plan.moves.len(), changed);
            // Scale-in: nothing is moved onto a member that is about to leave.
            prop_assert!(plan.moves.iter().all(|replica_move| replica_move.to < to));
        }
    }
}
