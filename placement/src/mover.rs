//! The mover's decisions: from the observed placement and the target ring, the admin calls to make
//! now. Pure, like openraft's engine: it emits [`Action`]s that the operator's runtime executes, then
//! observes again. Each call is idempotent on the node, so executing an action twice, or an
//! operator dying between two, changes nothing.
//!
//! One move gives one partition's replica to a new member, step by step, each step starting only
//! once the previous one is observed done:
//!
//! ```text
//!   host ─► add-learner ─► catch-up (observed lag) ─► promote ─► [transfer-leadership] ─► remove-replica ─► drop
//!   on the    on the          nothing to call            on the     if the giver leads       on the           on the
//!   receiver  leader                                     leader                              leader           giver
//! ```
//!
//! Rules, each checked by the property tests:
//! - add before remove: a live voter is removed only while the group has more than RF voters, so
//!   no partition has fewer than RF live voters because of a move (an under-replicated group gets a
//!   receiver first and loses nothing); a dead voter (stale id, or a member that does not answer)
//!   is removed first, since it holds no vote and only enlarges the quorum;
//! - at most one membership change per partition at a time, none while a change is half-way;
//! - at most `max_concurrent_moves` partitions move at once; a move in flight always finishes, new
//!   ones prefer receivers and givers no other move uses;
//! - stale replicas (ids no live member has) and members leaving the ring give first, the highest
//!   ordinal first, so scale-in empties the members the StatefulSet will delete;
//! - a learner outside the target (a change of mind) is removed instead of finished;
//! - once the placement matches, leadership is balanced so each member leads ⌊P/N⌋ or ⌈P/N⌉.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::observed::{ObservedCluster, ObservedGroup, ObservedReplica};
use crate::partition::PartitionId;
use crate::placement::{MemberId, Placement};
use crate::plan::MoveStep;

/// A learner this close to the leader's commit index may be promoted: promotion itself waits for the
/// last few entries, which under steady writes never stop coming.
pub const CATCH_UP_SLACK: u64 = 64;

/// One idempotent admin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `POST /v1/cluster/join` on `member` (a new pod joins before it hosts anything).
    Join { member: MemberId },
    /// `PUT /v1/partitions/{partition}` on `member`.
    Host {
        partition: PartitionId,
        member: MemberId,
    },
    /// `POST /v1/partitions/{partition}/learners` on `leader`, naming `member`'s current id.
    AddLearner {
        partition: PartitionId,
        leader: MemberId,
        member: MemberId,
        id: u64,
    },
    /// `POST /v1/partitions/{partition}/promote` on `leader`.
    Promote {
        partition: PartitionId,
        leader: MemberId,
        id: u64,
    },
    /// `POST /v1/partitions/{partition}/transfer-leadership` on `leader`, to `member`'s `id`.
    TransferLeadership {
        partition: PartitionId,
        leader: MemberId,
        member: MemberId,
        id: u64,
    },
    /// `DELETE /v1/partitions/{partition}/replicas/{replica.id}` on `leader`.
    RemoveReplica {
        partition: PartitionId,
        leader: MemberId,
        replica: ObservedReplica,
    },
    /// `DELETE /v1/partitions/{partition}` on `member`.
    Drop {
        partition: PartitionId,
        member: MemberId,
    },
}

impl Action {
    /// The partition the action concerns (`None` for a join).
    pub fn partition(&self) -> Option<PartitionId> {
        match *self {
            Action::Join { .. } => None,
            Action::Host { partition, .. }
            | Action::AddLearner { partition, .. }
            | Action::Promote { partition, .. }
            | Action::TransferLeadership { partition, .. }
            | Action::RemoveReplica { partition, .. }
            | Action::Drop { partition, .. } => Some(partition),
        }
    }
}

/// Why a partition cannot progress now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// No member reported the partition's group.
    NoReport,
    /// The group has no leader (an election, or no majority).
    NoLeader,
    /// The leader did not answer its status call.
    LeaderNotAnswering(MemberId),
    /// A membership change is half-way; it ends by itself.
    Joint,
    /// The receiving member did not answer.
    ReceiverNotAnswering(MemberId),
}

impl fmt::Display for Blocked {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::NoReport => write!(formatter, "no member reports its group"),
            Blocked::NoLeader => write!(formatter, "its group has no leader"),
            Blocked::LeaderNotAnswering(member) => {
                write!(formatter, "its leader, member {member}, does not answer")
            }
            Blocked::Joint => write!(formatter, "a membership change is half-way"),
            Blocked::ReceiverNotAnswering(member) => {
                write!(formatter, "the receiving member {member} does not answer")
            }
        }
    }
}

/// A partition whose move has started and not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveView {
    pub partition: PartitionId,
    /// The replica that gives way, when there is one (an under-replicated group has none).
    pub from: Option<ObservedReplica>,
    /// The receiving member, while it is not a voter yet.
    pub to: Option<MemberId>,
    /// The step it is at: the one acted on now, or waited for.
    pub step: MoveStep,
    /// Why it cannot progress now, if it cannot.
    pub blocked: Option<Blocked>,
}

/// What the mover may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Most partitions moving at once (at least 1).
    pub max_concurrent_moves: usize,
    /// Start no new move (moves in flight finish).
    pub paused: bool,
}

/// The decision of one round.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Calls to make now, at most one membership change per partition.
    pub actions: Vec<Action>,
    /// Moves in flight after this round's actions were chosen.
    pub in_flight: Vec<MoveView>,
    /// Moves still to finish (those in flight included).
    pub remaining_moves: u32,
    /// Partitions that need work but cannot progress now.
    pub blocked: Vec<(PartitionId, Blocked)>,
    /// Every group matches the target ring, nothing is left to drop, and every member answered.
    pub placement_done: bool,
    /// Every member of the ring leads ⌊P/N⌋ or ⌈P/N⌉ partitions.
    pub leadership_balanced: bool,
}

/// One partition's distance from its target.
#[derive(Debug, Clone)]
struct Gap {
    partition: PartitionId,
    /// Target members that are not live voters, in the target's order.
    receivers: Vec<MemberId>,
    /// Voters outside the target (or stale), the first to give way first.
    givers: Vec<ObservedReplica>,
    /// Learners outside the target (or stale).
    extra_learners: Vec<ObservedReplica>,
    /// Answering members hosting the partition outside its group and not receiving it.
    strays: Vec<MemberId>,
    voters: usize,
}

impl Gap {
    fn of(
        partition: PartitionId,
        group: &ObservedGroup,
        target: &[MemberId],
        observed: &ObservedCluster,
        ring_members: MemberId,
    ) -> Gap {
        let in_target =
            |replica: &ObservedReplica| !replica.stale && target.contains(&replica.member);
        let receivers: Vec<MemberId> = target
            .iter()
            .copied()
            .filter(|member| !group.has_voter(*member))
            .collect();
        let mut givers: Vec<ObservedReplica> = group
            .voters
            .iter()
            .copied()
            .filter(|replica| !in_target(replica))
            .collect();
        // Stale first, then members that do not answer, then members leaving the ring, highest
        // ordinal first.
        givers.sort_by_key(|replica| {
            (
                std::cmp::Reverse(replica.stale),
                std::cmp::Reverse(!observed.answers(replica.member)),
                std::cmp::Reverse(replica.member >= ring_members),
                std::cmp::Reverse(replica.member),
            )
        });
        let extra_learners = group
            .learners
            .iter()
            .copied()
            .filter(|replica| !in_target(replica))
            .collect();
        let strays = observed
            .members
            .iter()
            .filter(|(member, status)| {
                status.hosted.contains(&partition)
                    && !group.has_voter(**member)
                    && !group.has_learner(**member)
                    && !receivers.contains(member)
            })
            .map(|(member, _)| *member)
            .collect();
        Gap {
            partition,
            receivers,
            givers,
            extra_learners,
            strays,
            voters: group.voters.len(),
        }
    }

    /// Moves left: one per receiver or per surplus giver; a leftover drop or learner counts one.
    fn remaining(&self) -> u32 {
        let moves = self.receivers.len().max(self.givers.len()) as u32;
        if moves == 0 && !(self.strays.is_empty() && self.extra_learners.is_empty()) {
            1
        } else {
            moves
        }
    }

    /// The giver that goes next: the first one that does not lead (the leader's turn needs a
    /// successor to hand over to), else the leader.
    fn next_giver(&self, leader: Option<MemberId>) -> Option<ObservedReplica> {
        self.givers
            .iter()
            .find(|replica| replica.stale || Some(replica.member) != leader)
            .or(self.givers.first())
            .copied()
    }

    /// Whether this partition's move has begun (something exists that only a move creates).
    fn started(&self, group: &ObservedGroup, observed: &ObservedCluster, rf: usize) -> bool {
        self.voters > rf
            || !group.learners.is_empty()
            || !self.strays.is_empty()
            || self
                .receivers
                .iter()
                .any(|member| observed.hosts(*member, self.partition))
    }

    /// The receiver a move works on: one already a learner, else one already hosting, else the
    /// first of the target.
    fn receiver(&self, group: &ObservedGroup, observed: &ObservedCluster) -> Option<MemberId> {
        self.receivers
            .iter()
            .copied()
            .find(|member| group.has_learner(*member))
            .or_else(|| {
                self.receivers
                    .iter()
                    .copied()
                    .find(|member| observed.hosts(*member, self.partition))
            })
            .or_else(|| self.receivers.first().copied())
    }
}

/// Decides the next actions that take `observed` toward `target`.
pub fn decide(observed: &ObservedCluster, target: &Placement, options: Options) -> Decision {
    let spec = target.spec();
    let rf = spec.replication_factor as usize;
    let ring_members = spec.members;
    let mut decision = Decision::default();
    let leads = observed.leader_counts();

    // New pods join first: a joined member is ready and routes, even while it hosts nothing.
    let formed = observed.members.values().any(|member| member.joined);
    if formed {
        for (member, status) in &observed.members {
            if *member < ring_members && !status.joined {
                decision.actions.push(Action::Join { member: *member });
            }
        }
    }

    let mut candidates: Vec<(Gap, &ObservedGroup)> = Vec::new();
    let mut busy_members: BTreeSet<MemberId> = BTreeSet::new();
    let mut in_flight = 0usize;
    for partition in spec.partitions.ids() {
        let Some(group) = observed.groups.get(&partition) else {
            decision.remaining_moves += 1;
            decision.blocked.push((partition, Blocked::NoReport));
            continue;
        };
        let gap = Gap::of(
            partition,
            group,
            target.replicas_of(partition),
            observed,
            ring_members,
        );
        let remaining = gap.remaining();
        decision.remaining_moves += remaining;
        if remaining == 0 {
            continue;
        }
        if gap.started(group, observed, rf) {
            in_flight += 1;
            let view = advance(&gap, group, observed, rf, &leads, &mut decision.actions);
            busy_members.extend(view.to);
            busy_members.extend(view.from.map(|replica| replica.member));
            if let Some(blocked) = view.blocked {
                decision.blocked.push((partition, blocked));
            }
            decision.in_flight.push(view);
        } else {
            candidates.push((gap, group));
        }
    }

    // New moves, in plan order, spread over members no other move uses where possible.
    if !options.paused {
        candidates.sort_by_key(|(gap, group)| start_order(gap, group.leader, ring_members));
        let mut slots = options
            .max_concurrent_moves
            .max(1)
            .saturating_sub(in_flight);
        let mut deferred = Vec::new();
        for pass in 0..2 {
            let pool = if pass == 0 {
                std::mem::take(&mut candidates)
            } else {
                std::mem::take(&mut deferred)
            };
            for (gap, group) in pool {
                if slots == 0 {
                    break;
                }
                let receiver = gap.receiver(group, observed);
                let giver = gap.next_giver(group.leader).map(|replica| replica.member);
                let conflict = receiver.is_some_and(|member| busy_members.contains(&member))
                    || giver.is_some_and(|member| busy_members.contains(&member));
                if pass == 0 && conflict {
                    deferred.push((gap, group));
                    continue;
                }
                let view = advance(&gap, group, observed, rf, &leads, &mut decision.actions);
                if let Some(blocked) = view.blocked {
                    decision.blocked.push((gap.partition, blocked));
                    // A receiver that does not answer holds its moves up: show one of them as in
                    // flight (without taking a slot), so a receiver that never comes back is
                    // reported as a stalled move rather than as nothing happening.
                    if let Blocked::ReceiverNotAnswering(member) = blocked
                        && !busy_members.contains(&member)
                    {
                        busy_members.insert(member);
                        decision.in_flight.push(view);
                    }
                    continue;
                }
                slots -= 1;
                busy_members.extend(view.to);
                busy_members.extend(view.from.map(|replica| replica.member));
                decision.in_flight.push(view);
            }
        }
    }

    decision.placement_done = decision.remaining_moves == 0 && observed.silent.is_empty();
    if !decision.placement_done {
        return decision;
    }
    let transfers = balance_leadership(observed, target);
    decision.leadership_balanced = transfers.is_empty();
    if !options.paused {
        decision.actions.extend(
            transfers
                .into_iter()
                .take(options.max_concurrent_moves.max(1)),
        );
    }
    decision
}

/// Plan order of not-yet-started moves: off leaving members first (highest ordinal first), then
/// by receiver and partition, as `ringcache-operator plan` lists them.
fn start_order(
    gap: &Gap,
    leader: Option<MemberId>,
    ring_members: MemberId,
) -> (bool, std::cmp::Reverse<MemberId>, MemberId, PartitionId) {
    let giver = gap.next_giver(leader);
    let leaving = giver.is_some_and(|replica| replica.stale || replica.member >= ring_members);
    let leaving_member = if leaving {
        giver.map_or(0, |replica| replica.member)
    } else {
        0
    };
    (
        !leaving,
        std::cmp::Reverse(leaving_member),
        gap.receivers.first().copied().unwrap_or(MemberId::MAX),
        gap.partition,
    )
}

/// The next step of one partition's move: pushes its action (if it can act) and says where it is.
fn advance(
    gap: &Gap,
    group: &ObservedGroup,
    observed: &ObservedCluster,
    rf: usize,
    leads: &BTreeMap<MemberId, u32>,
    actions: &mut Vec<Action>,
) -> MoveView {
    let receiver = gap.receiver(group, observed);
    let next_giver = gap.next_giver(group.leader);
    let mut view = MoveView {
        partition: gap.partition,
        from: next_giver,
        to: receiver,
        step: MoveStep::Host,
        blocked: None,
    };
    let leader = match group.leader {
        None => {
            view.blocked = Some(Blocked::NoLeader);
            return view;
        }
        Some(leader) if !observed.answers(leader) => {
            view.blocked = Some(Blocked::LeaderNotAnswering(leader));
            return view;
        }
        Some(leader) => leader,
    };
    let partition = gap.partition;
    if group.joint {
        view.blocked = Some(Blocked::Joint);
        // openraft leaves a change that a former leader began half-way (joint) until the next
        // change: re-asserting a caught-up voter of the target settles it. Behind a change still
        // running, the node waits for it and then finds nothing to do.
        if let Some(voter) = settling_voter(gap, group, observed) {
            actions.push(Action::Promote {
                partition,
                leader,
                id: voter.id,
            });
        }
        return view;
    }
    // Drops touch no group: every stray copy goes as soon as it is seen.
    for member in &gap.strays {
        actions.push(Action::Drop {
            partition,
            member: *member,
        });
    }
    let receiving = gap
        .receivers
        .iter()
        .any(|member| observed.hosts(*member, partition));
    if !gap.strays.is_empty() && gap.voters <= rf && group.learners.is_empty() && !receiving {
        // The tail of the previous move: its giver's copy goes before the next move starts.
        view.step = MoveStep::Drop;
        view.to = None;
        view.from = None;
        return view;
    }
    if let Some(replica) = gap.extra_learners.first() {
        return remove(view, leader, *replica, actions);
    }
    // A dead giver (an id no live member has, or a member that does not answer) goes first, even
    // below RF voters: it holds no vote, and kept until after the promotion it would make the group
    // need every live voter for a quorum (RF + 1 voters, one dead).
    if let Some(dead) = gap
        .givers
        .iter()
        .find(|replica| replica.stale || !observed.answers(replica.member))
        .filter(|replica| gap.voters > 1 && Some(replica.member) != group.leader)
    {
        view.to = None;
        return remove(view, leader, *dead, actions);
    }
    if gap.voters > rf
        && let Some(giver) = &next_giver
    {
        view.to = None;
        if giver.member != leader || giver.stale {
            return remove(view, leader, *giver, actions);
        }
        view.from = Some(*giver);
        view.step = MoveStep::TransferLeadership;
        match successor(gap, group, observed, leads) {
            Some((member, id)) => actions.push(Action::TransferLeadership {
                partition,
                leader,
                member,
                id,
            }),
            None => view.blocked = Some(Blocked::NoLeader),
        }
        return view;
    }
    if let Some(receiver) = receiver {
        let Some(status) = observed.members.get(&receiver) else {
            if group.has_learner(receiver) {
                view.step = MoveStep::CatchUp;
            }
            view.blocked = Some(Blocked::ReceiverNotAnswering(receiver));
            return view;
        };
        if !status.hosted.contains(&partition) {
            view.step = MoveStep::Host;
            actions.push(Action::Host {
                partition,
                member: receiver,
            });
        } else if !group.has_learner(receiver) {
            view.step = MoveStep::AddLearner;
            actions.push(Action::AddLearner {
                partition,
                leader,
                member: receiver,
                id: status.id,
            });
        } else if group
            .lag_of(status.id)
            .is_some_and(|lag| lag <= CATCH_UP_SLACK)
        {
            view.step = MoveStep::Promote;
            actions.push(Action::Promote {
                partition,
                leader,
                id: status.id,
            });
        } else {
            view.step = MoveStep::CatchUp;
        }
        return view;
    }
    view.step = MoveStep::Drop;
    view.from = None;
    view.to = None;
    view
}

/// The remove-replica step of `view`'s partition: `replica` leaves its group (sent to `leader`).
fn remove(
    mut view: MoveView,
    leader: MemberId,
    replica: ObservedReplica,
    actions: &mut Vec<Action>,
) -> MoveView {
    view.step = MoveStep::RemoveReplica;
    view.from = Some(replica);
    actions.push(Action::RemoveReplica {
        partition: view.partition,
        leader,
        replica,
    });
    view
}

/// A voter to re-assert in a joint group: live, answering, not the leader, close behind it,
/// preferably not a giver (re-asserting a giver would undo its removal).
fn settling_voter(
    gap: &Gap,
    group: &ObservedGroup,
    observed: &ObservedCluster,
) -> Option<ObservedReplica> {
    group
        .voters
        .iter()
        .filter(|replica| {
            !replica.stale
                && Some(replica.member) != group.leader
                && observed.answers(replica.member)
                && group
                    .lag_of(replica.id)
                    .is_some_and(|lag| lag <= CATCH_UP_SLACK)
        })
        .min_by_key(|replica| {
            (
                gap.givers.contains(replica),
                group.lag_of(replica.id),
                replica.member,
            )
        })
        .copied()
}

/// Who takes over from a leaving leader: a live target voter that answers, leading the fewest
/// partitions, the most caught up among those.
fn successor(
    gap: &Gap,
    group: &ObservedGroup,
    observed: &ObservedCluster,
    leads: &BTreeMap<MemberId, u32>,
) -> Option<(MemberId, u64)> {
    group
        .voters
        .iter()
        .filter(|replica| {
            !replica.stale
                && Some(replica.member) != group.leader
                && observed.answers(replica.member)
        })
        .min_by_key(|replica| {
            (
                gap.givers.contains(replica),
                leads.get(&replica.member).copied().unwrap_or(0),
                group.lag_of(replica.id).unwrap_or(u64::MAX),
                replica.member,
            )
        })
        .map(|replica| (replica.member, replica.id))
}

/// Leadership transfers that bring every ring member to ⌊P/N⌋ or ⌈P/N⌉ led partitions. While the
/// most and least loaded members differ by more than one, it looks (breadth first) for a chain of
/// hand-offs from a member leading most to one leading at least two fewer: each link is a
/// partition one member leads and the next is a voter of. Along the chain only the two ends change
/// their counts, so a chain exists whenever a direct hand-off does not. Only groups with an
/// answering leader and no change half-way take part.
pub fn balance_leadership(observed: &ObservedCluster, target: &Placement) -> Vec<Action> {
    let members = target.spec().members;
    // Only members that answer take part: a member that is down can neither lead nor hand off.
    let mut leads: BTreeMap<MemberId, u32> = (0..members)
        .filter(|member| observed.answers(*member))
        .map(|member| (member, 0))
        .collect();
    let mut led: BTreeMap<MemberId, BTreeSet<PartitionId>> = BTreeMap::new();
    for (partition, group) in &observed.groups {
        if let Some(leader) = group.leader.filter(|leader| observed.answers(*leader)) {
            *leads.entry(leader).or_insert(0) += 1;
            led.entry(leader).or_default().insert(*partition);
        }
    }
    let mut transfers = Vec::new();
    let mut moved: BTreeSet<PartitionId> = BTreeSet::new();
    for _ in 0..target.spec().partitions.get() {
        let most = leads.values().copied().max().unwrap_or(0);
        let least = leads.values().copied().min().unwrap_or(0);
        if most <= least + 1 {
            break;
        }
        let Some(chain) = hand_off_chain(observed, members, &leads, &led, &moved, most) else {
            break;
        };
        let (first, last) = (chain[0].1, chain[chain.len() - 1].2);
        *leads.get_mut(&first).expect("counted") -= 1;
        *leads.entry(last.member).or_insert(0) += 1;
        for (partition, from, to) in chain {
            moved.insert(partition);
            if let Some(set) = led.get_mut(&from) {
                set.remove(&partition);
            }
            led.entry(to.member).or_default().insert(partition);
            transfers.push(Action::TransferLeadership {
                partition,
                leader: from,
                member: to.member,
                id: to.id,
            });
        }
    }
    transfers
}

/// The shortest chain of (partition, leader, new leader) from a member leading `most` to one
/// leading at most `most - 2`.
fn hand_off_chain(
    observed: &ObservedCluster,
    members: MemberId,
    leads: &BTreeMap<MemberId, u32>,
    led: &BTreeMap<MemberId, BTreeSet<PartitionId>>,
    moved: &BTreeSet<PartitionId>,
    most: u32,
) -> Option<Vec<(PartitionId, MemberId, ObservedReplica)>> {
    let mut parent: BTreeMap<MemberId, (PartitionId, MemberId, ObservedReplica)> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<MemberId> = leads
        .iter()
        .filter(|(_, count)| **count == most)
        .map(|(member, _)| *member)
        .collect();
    let mut seen: BTreeSet<MemberId> = queue.iter().copied().collect();
    while let Some(from) = queue.pop_front() {
        if !observed.answers(from) {
            continue;
        }
        for partition in led.get(&from).into_iter().flatten() {
            if moved.contains(partition) {
                continue;
            }
            let group = &observed.groups[partition];
            if group.joint {
                continue;
            }
            for voter in &group.voters {
                let usable = !voter.stale
                    && voter.member < members
                    && observed.answers(voter.member)
                    && !seen.contains(&voter.member);
                if !usable {
                    continue;
                }
                seen.insert(voter.member);
                parent.insert(voter.member, (*partition, from, *voter));
                if leads.get(&voter.member).copied().unwrap_or(0) + 2 <= most {
                    let mut chain = Vec::new();
                    let mut at = voter.member;
                    while let Some(link) = parent.get(&at) {
                        chain.push(*link);
                        at = link.1;
                    }
                    chain.reverse();
                    return Some(chain);
                }
                queue.push_back(voter.member);
            }
        }
    }
    None
}
