//! A simulated cluster for the mover: [`apply`] does to an [`ObservedCluster`] what a node does for
//! each admin call, and [`run`] alternates the mover's decisions with their effects until the
//! target is reached. `ringcache-operator plan` previews through it; the property tests use it to
//! drive the mover from arbitrary states.

use std::collections::BTreeSet;

use crate::mover::{Action, Options, decide};
use crate::observed::{ObservedCluster, ObservedGroup, ObservedMember, ObservedReplica};
use crate::partition::PartitionId;
use crate::placement::{MemberId, Placement};

/// The Raft id a simulated member has in incarnation `incarnation`.
pub fn raft_id(member: MemberId, incarnation: u64) -> u64 {
    (u64::from(member) << 48) | incarnation
}

/// The cluster as it looks when `placement` is fully in place: members `0..members` answer, those of
/// the placement joined and hosting exactly their replicas, each group led by its first replica.
pub fn settled(placement: &Placement, members: MemberId) -> ObservedCluster {
    let spec = placement.spec();
    let mut observed = ObservedCluster::default();
    for member in 0..members.max(spec.members) {
        let in_ring = member < spec.members;
        observed.members.insert(
            member,
            ObservedMember {
                id: raft_id(member, 1),
                joined: in_ring,
                hosted: if in_ring {
                    placement.partitions_of(member).into_iter().collect()
                } else {
                    BTreeSet::new()
                },
                ..ObservedMember::default()
            },
        );
    }
    for partition in spec.partitions.ids() {
        let voters: Vec<ObservedReplica> = placement
            .replicas_of(partition)
            .iter()
            .map(|member| ObservedReplica {
                id: raft_id(*member, 1),
                member: *member,
                stale: false,
            })
            .collect();
        observed.groups.insert(
            partition,
            ObservedGroup {
                leader: voters.first().map(|replica| replica.member),
                matched: voters.iter().map(|replica| (replica.id, Some(0))).collect(),
                voters,
                learners: Vec::new(),
                joint: false,
                committed_index: Some(0),
            },
        );
    }
    observed
}

/// Why a simulated node refused an action, or a rule the mover broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0:?}: the member does not answer")]
    NotAnswering(Action),
    #[error("{0:?}: no such group")]
    NoGroup(Action),
    #[error("{0:?}: not sent to the group's leader")]
    NotLeader(Action),
    #[error("{0:?}: the leader cannot remove itself")]
    RemovingLeader(Action),
    #[error("{0:?}: removing a live voter would leave fewer than RF voters (or no voter at all)")]
    BelowReplicationFactor(Action),
    #[error("{0:?}: the learner is not a replica of the group")]
    UnknownReplica(Action),
    #[error("{0:?}: the member is still in the group")]
    StillAMember(Action),
}

/// Applies `action` as the nodes would; idempotent like them. `replication_factor` is only used to
/// check the mover's add-before-remove rule.
pub fn apply(
    observed: &mut ObservedCluster,
    action: Action,
    replication_factor: usize,
) -> Result<(), Refusal> {
    let answers = |observed: &ObservedCluster, member| {
        if observed.answers(member) {
            Ok(())
        } else {
            Err(Refusal::NotAnswering(action))
        }
    };
    match action {
        Action::Join { member } => {
            answers(observed, member)?;
            observed.members.get_mut(&member).expect("answers").joined = true;
        }
        Action::Host { partition, member } => {
            answers(observed, member)?;
            let status = observed.members.get_mut(&member).expect("answers");
            status.joined = true;
            status.hosted.insert(partition);
        }
        Action::Drop { partition, member } => {
            answers(observed, member)?;
            let id = observed.members[&member].id;
            if let Some(group) = observed.groups.get(&partition)
                && group
                    .voters
                    .iter()
                    .chain(&group.learners)
                    .any(|replica| replica.id == id)
            {
                return Err(Refusal::StillAMember(action));
            }
            let status = observed.members.get_mut(&member).expect("answers");
            status.hosted.remove(&partition);
        }
        Action::AddLearner {
            partition,
            leader,
            member,
            id,
        } => {
            let group = leader_group(observed, partition, leader, action)?;
            if !group
                .voters
                .iter()
                .chain(&group.learners)
                .any(|r| r.id == id)
            {
                group.learners.push(ObservedReplica {
                    id,
                    member,
                    stale: false,
                });
                // The simulated learner catches up at once.
                group.matched.insert(id, group.committed_index);
            }
        }
        Action::Promote {
            partition,
            leader,
            id,
        } => {
            let group = leader_group(observed, partition, leader, action)?;
            if let Some(position) = group.learners.iter().position(|r| r.id == id) {
                let replica = group.learners.remove(position);
                group.voters.push(replica);
            } else if !group.voters.iter().any(|r| r.id == id) {
                return Err(Refusal::UnknownReplica(action));
            }
            // Any change settles a joint configuration.
            group.joint = false;
        }
        Action::TransferLeadership {
            partition,
            leader,
            member,
            id,
        } => {
            answers(observed, member)?;
            let group = leader_group(observed, partition, leader, action)?;
            if !group.voters.iter().any(|r| r.id == id && !r.stale) {
                return Err(Refusal::UnknownReplica(action));
            }
            group.leader = Some(member);
        }
        Action::RemoveReplica {
            partition,
            leader,
            replica,
        } => {
            let live = !replica.stale && observed.answers(replica.member);
            let group = leader_group(observed, partition, leader, action)?;
            if replica.member == leader && !replica.stale {
                return Err(Refusal::RemovingLeader(action));
            }
            if let Some(position) = group.voters.iter().position(|r| r.id == replica.id) {
                // A dead voter may go at any time; a live one only above RF voters.
                if live && group.voters.len() <= replication_factor {
                    return Err(Refusal::BelowReplicationFactor(action));
                }
                if group.voters.len() <= 1 {
                    return Err(Refusal::BelowReplicationFactor(action));
                }
                group.voters.remove(position);
            }
            group.learners.retain(|r| r.id != replica.id);
            group.matched.remove(&replica.id);
        }
    }
    Ok(())
}

fn leader_group(
    observed: &mut ObservedCluster,
    partition: PartitionId,
    leader: MemberId,
    action: Action,
) -> Result<&mut ObservedGroup, Refusal> {
    if !observed.answers(leader) {
        return Err(Refusal::NotAnswering(action));
    }
    let group = observed
        .groups
        .get_mut(&partition)
        .ok_or(Refusal::NoGroup(action))?;
    if group.leader != Some(leader) {
        return Err(Refusal::NotLeader(action));
    }
    Ok(group)
}

/// A move as the mover started it: the receiver was told to host the partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartedMove {
    pub partition: PartitionId,
    /// The member expected to give way (none for an under-replicated group).
    pub from: Option<MemberId>,
    pub to: MemberId,
}

/// The outcome of [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// Where the cluster ended.
    pub cluster: ObservedCluster,
    /// Moves in the order they started.
    pub moves: Vec<StartedMove>,
    /// Rounds of decide-then-apply.
    pub rounds: usize,
    /// The target placement and balanced leadership were reached.
    pub converged: bool,
    /// The first action a simulated node refused, if any (the mover never should cause one).
    pub refusal: Option<Refusal>,
}

/// Runs the mover on `cluster` until it reaches `target` (or stops making progress).
pub fn run(
    mut cluster: ObservedCluster,
    target: &Placement,
    max_concurrent_moves: usize,
) -> Simulation {
    let replication_factor = target.spec().replication_factor as usize;
    let options = Options {
        max_concurrent_moves,
        paused: false,
    };
    let mut moves = Vec::new();
    let bound = 16 * (target.spec().partitions.get() as usize + 4) * (replication_factor + 1);
    for round in 0..bound {
        let decision = decide(&cluster, target, options);
        if decision.actions.is_empty() {
            let converged = decision.placement_done && decision.leadership_balanced;
            return Simulation {
                cluster,
                moves,
                rounds: round,
                converged,
                refusal: None,
            };
        }
        for action in &decision.actions {
            if let Action::Host { partition, member } = *action {
                let from = decision
                    .in_flight
                    .iter()
                    .find(|view| view.partition == partition)
                    .and_then(|view| view.from)
                    .map(|replica| replica.member);
                moves.push(StartedMove {
                    partition,
                    from,
                    to: member,
                });
            }
            if let Err(refusal) = apply(&mut cluster, *action, replication_factor) {
                return Simulation {
                    cluster,
                    moves,
                    rounds: round,
                    converged: false,
                    refusal: Some(refusal),
                };
            }
        }
    }
    Simulation {
        cluster,
        moves,
        rounds: bound,
        converged: false,
        refusal: None,
    }
}
