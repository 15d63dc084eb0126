//! Property tests of the mover: from random observed states (settled placements disturbed by hand,
//! members that came back empty, random partial executions of earlier plans) and a target that
//! changes mid-way, repeated decide-and-apply reaches the target without a simulated node ever
//! refusing an action: no voter removed while the group has RF or fewer, no leader removing itself.

use proptest::prelude::*;
use ringcache_placement::simulate::{apply, raft_id, run, settled};
use ringcache_placement::{
    Action, MemberId, ObservedCluster, Options, PartitionCount, Placement, PlacementSpec, decide,
};

fn placement(members: u32, partitions: u32, replication_factor: u32) -> Placement {
    Placement::compute(PlacementSpec {
        members,
        partitions: PartitionCount::new(partitions).unwrap(),
        replication_factor,
        seed: 0,
    })
    .unwrap()
}

/// Member `member` comes back with an empty data dir: a new Raft id, nothing hosted, not joined.
/// Its old replicas stay in their groups as stale ids; a group it led elects another voter.
fn wipe(cluster: &mut ObservedCluster, member: MemberId) {
    let Some(status) = cluster.members.get_mut(&member) else {
        return;
    };
    let old = status.id;
    status.id = raft_id(member, (old & 0xffff) + 1);
    status.hosted.clear();
    status.joined = false;
    for group in cluster.groups.values_mut() {
        for replica in group.voters.iter_mut().chain(group.learners.iter_mut()) {
            if replica.id == old {
                replica.stale = true;
            }
        }
        if group.leader == Some(member) {
            group.leader = group
                .voters
                .iter()
                .find(|replica| !replica.stale)
                .map(|replica| replica.member);
        }
    }
}

/// A voter (not the leader) removed by hand: the group is under-replicated.
fn remove_by_hand(cluster: &mut ObservedCluster, partition: u32) {
    let Some(group) = cluster.groups.get_mut(&partition) else {
        return;
    };
    if group.voters.len() < 2 {
        return;
    }
    if let Some(position) = group
        .voters
        .iter()
        .position(|replica| Some(replica.member) != group.leader)
    {
        let removed = group.voters.remove(position);
        group.matched.remove(&removed.id);
    }
}

fn assert_reached(cluster: &ObservedCluster, target: &Placement) -> Result<(), TestCaseError> {
    for partition in target.spec().partitions.ids() {
        let group = &cluster.groups[&partition];
        let mut voters: Vec<MemberId> = group.voters.iter().map(|r| r.member).collect();
        let mut want = target.replicas_of(partition).to_vec();
        voters.sort_unstable();
        want.sort_unstable();
        prop_assert_eq!(voters, want, "partition {}", partition);
        prop_assert!(group.voters.iter().all(|r| !r.stale));
        prop_assert!(
            group.learners.is_empty(),
            "partition {} has learners",
            partition
        );
        for (member, status) in &cluster.members {
            prop_assert_eq!(
                status.hosted.contains(&partition),
                target.replicas_of(partition).contains(member),
                "member {} hosting partition {}",
                member,
                partition
            );
        }
    }
    let partitions = target.spec().partitions.get();
    let members = target.spec().members;
    let counts = cluster.leader_counts();
    for member in 0..members {
        let leads = counts.get(&member).copied().unwrap_or(0);
        prop_assert!(
            leads == partitions / members || leads == partitions.div_ceil(members),
            "member {} leads {} of {} partitions over {} members: {:?}",
            member,
            leads,
            partitions,
            members,
            counts
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_mover_reaches_any_target_from_any_state_without_dropping_below_rf(
        replication_factor in 1u32..=3,
        from_extra in 0u32..=5,
        first_extra in 0u32..=5,
        final_extra in 0u32..=5,
        partitions in prop::sample::select(vec![8u32, 16, 32]),
        max_concurrent_moves in 1usize..=4,
        partial_rounds in 0usize..60,
        skip_every in 1usize..5,
        wiped in prop::option::of(0u32..7),
        hand_removed in prop::collection::vec(0u32..32, 0..3),
    ) {
        let rf = replication_factor;
        let (from, first_target, final_target) = (rf + from_extra, rf + first_extra, rf + final_extra);
        let members = from.max(first_target).max(final_target);
        let mut cluster = settled(&placement(from, partitions, rf), members);
        // With one replica a wiped member takes its partitions' only copy: nothing can recover that.
        if let Some(member) = wiped.filter(|member| *member < from && rf >= 2) {
            wipe(&mut cluster, member);
        }
        for partition in hand_removed {
            remove_by_hand(&mut cluster, partition % partitions);
        }
        // A partial execution toward the first target, some actions lost on the way.
        let first = placement(first_target, partitions, rf);
        let options = Options { max_concurrent_moves, paused: false };
        let mut counter = 0usize;
        for _ in 0..partial_rounds {
            let decision = decide(&cluster, &first, options);
            for action in decision.actions {
                counter += 1;
                if counter.is_multiple_of(skip_every + 1) {
                    continue;
                }
                if let Err(refusal) = apply(&mut cluster, action, rf as usize) {
                    return Err(TestCaseError::fail(format!("refused: {refusal}")));
                }
            }
        }
        // Change of mind: the final target, run to the end.
        let target = placement(final_target, partitions, rf);
        let simulation = run(cluster, &target, max_concurrent_moves);
        prop_assert_eq!(simulation.refusal.clone(), None);
        prop_assert!(simulation.converged, "not converged after {} rounds", simulation.rounds);
        assert_reached(&simulation.cluster, &target)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A member down past its grace period: the mover aims at the ring with stand-ins for it and
    /// restores every partition to RF live voters without it; when it comes back (same id, its
    /// old copies on disk) the plain ring applies again and its replicas return to it.
    #[test]
    fn a_lost_members_replicas_are_rebuilt_elsewhere_and_return_when_it_does(
        replication_factor in 2u32..=3,
        extra in 1u32..=3,
        partitions in prop::sample::select(vec![8u32, 16, 32]),
        lost_pick in 0u32..8,
        max_concurrent_moves in 1usize..=4,
    ) {
        let rf = replication_factor;
        let members = rf + extra;
        let lost = lost_pick % members;
        let ring = placement(members, partitions, rf);
        let mut cluster = settled(&ring, members);
        let saved = cluster.members.remove(&lost).expect("settled members answer");
        cluster.silent.clear();
        for group in cluster.groups.values_mut() {
            if group.leader == Some(lost) {
                group.leader = group.voters.iter().map(|r| r.member).find(|m| *m != lost);
            }
        }
        let stand_ins = ring.standing_in_for(&std::collections::BTreeSet::from([lost]));
        let simulation = run(cluster, &stand_ins, max_concurrent_moves);
        prop_assert_eq!(simulation.refusal.clone(), None);
        prop_assert!(simulation.converged, "not converged after {} rounds", simulation.rounds);
        let repaired = simulation.cluster;
        for partition in 0..partitions {
            let group = &repaired.groups[&partition];
            let mut voters: Vec<MemberId> = group.voters.iter().map(|r| r.member).collect();
            let mut want = stand_ins.replicas_of(partition).to_vec();
            voters.sort_unstable();
            want.sort_unstable();
            prop_assert_eq!(&voters, &want, "partition {}", partition);
            prop_assert!(!voters.contains(&lost));
            prop_assert_eq!(voters.len(), rf as usize);
        }
        let counts = repaired.leader_counts();
        let live = members - 1;
        for member in (0..members).filter(|member| *member != lost) {
            let leads = counts.get(&member).copied().unwrap_or(0);
            prop_assert!(
                leads == partitions / live || leads == partitions.div_ceil(live),
                "member {} leads {} of {} over {} live members: {:?}", member, leads, partitions, live, counts
            );
        }
        // It comes back with its old id and old copies: every replica returns to the plain ring.
        let mut returned = repaired;
        returned.members.insert(lost, saved);
        let simulation = run(returned, &ring, max_concurrent_moves);
        prop_assert_eq!(simulation.refusal.clone(), None);
        prop_assert!(simulation.converged, "not converged after {} rounds", simulation.rounds);
        assert_reached(&simulation.cluster, &ring)?;
    }
}

#[test]
fn paused_starts_nothing_new_but_finishes_what_is_in_flight() {
    let three = placement(3, 16, 3);
    let five = placement(5, 16, 3);
    let mut cluster = settled(&three, 5);
    let options = Options {
        max_concurrent_moves: 2,
        paused: false,
    };
    // Run until two moves are in flight.
    for _ in 0..3 {
        for action in decide(&cluster, &five, options).actions {
            apply(&mut cluster, action, 3).unwrap();
        }
    }
    let paused = Options {
        paused: true,
        ..options
    };
    let in_flight: Vec<u32> = decide(&cluster, &five, paused)
        .in_flight
        .iter()
        .map(|view| view.partition)
        .collect();
    assert_eq!(in_flight.len(), 2);
    for _ in 0..20 {
        let decision = decide(&cluster, &five, paused);
        for action in &decision.actions {
            let partition = action.partition();
            assert!(
                partition.is_none_or(|partition| in_flight.contains(&partition)),
                "paused, yet {action:?} touches a partition not in flight"
            );
        }
        for action in decision.actions {
            apply(&mut cluster, action, 3).unwrap();
        }
    }
    let decision = decide(&cluster, &five, paused);
    assert!(decision.in_flight.is_empty());
    assert!(decision.remaining_moves > 0);
    assert!(decision.actions.is_empty());
}

#[test]
fn a_learner_is_promoted_only_once_caught_up() {
    let three = placement(3, 8, 3);
    let four = placement(4, 8, 3);
    let mut cluster = settled(&three, 4);
    for group in cluster.groups.values_mut() {
        group.committed_index = Some(1_000);
    }
    let options = Options {
        max_concurrent_moves: 1,
        paused: false,
    };
    let mut saw_catch_up = false;
    for _ in 0..10 {
        let decision = decide(&cluster, &four, options);
        for action in decision.actions {
            apply(&mut cluster, action, 3).unwrap();
            if let Action::AddLearner { partition, id, .. } = action {
                // Far behind the leader: the mover must wait, not promote.
                cluster
                    .groups
                    .get_mut(&partition)
                    .unwrap()
                    .matched
                    .insert(id, Some(10));
                let next = decide(&cluster, &four, options);
                assert!(
                    !next
                        .actions
                        .iter()
                        .any(|action| matches!(action, Action::Promote { .. })),
                    "promoted a learner 990 entries behind"
                );
                assert_eq!(
                    next.in_flight[0].step,
                    ringcache_placement::MoveStep::CatchUp
                );
                saw_catch_up = true;
                cluster
                    .groups
                    .get_mut(&partition)
                    .unwrap()
                    .matched
                    .insert(id, Some(990));
            }
        }
    }
    assert!(saw_catch_up);
}

#[test]
fn a_group_without_leader_or_mid_change_is_left_alone() {
    let three = placement(3, 8, 3);
    let four = placement(4, 8, 3);
    let mut cluster = settled(&three, 4);
    for group in cluster.groups.values_mut() {
        group.leader = None;
    }
    cluster.groups.get_mut(&0).unwrap().leader = Some(0);
    cluster.groups.get_mut(&0).unwrap().joint = true;
    let decision = decide(
        &cluster,
        &four,
        Options {
            max_concurrent_moves: 8,
            paused: false,
        },
    );
    // Leaderless groups get nothing; the joint one gets a voter re-asserted, which settles it.
    let group_actions: Vec<&Action> = decision
        .actions
        .iter()
        .filter(|action| !matches!(action, Action::Join { .. }))
        .collect();
    assert_eq!(group_actions.len(), 1, "{:?}", decision.actions);
    assert!(
        matches!(group_actions[0], Action::Promote { partition: 0, leader: 0, id } if *id != raft_id(0, 1)),
        "{:?}",
        group_actions
    );
    assert!(!decision.blocked.is_empty());
    apply(&mut cluster, *group_actions[0], 3).unwrap();
    assert!(!cluster.groups[&0].joint);
}

#[test]
fn a_silent_member_keeps_the_placement_from_being_called_done() {
    let three = placement(3, 8, 3);
    let mut cluster = settled(&three, 3);
    let options = Options {
        max_concurrent_moves: 1,
        paused: false,
    };
    assert!(decide(&cluster, &three, options).placement_done);
    // Member 2 did not answer this round: copies it may hold are unknown.
    cluster.members.remove(&2);
    cluster.silent.insert(2);
    let decision = decide(&cluster, &three, options);
    assert!(!decision.placement_done);
    assert_eq!(decision.remaining_moves, 0);
}

/// A giver that is dead (its member does not answer) is removed before its replacement is added:
/// kept, it would make the group of RF + 1 voters need every live voter for a quorum. A live
/// giver is still removed only after its replacement votes.
#[test]
fn a_dead_giver_goes_first_and_a_live_one_last() {
    let four = placement(4, 8, 3);
    let lost = 1;
    let stand_ins = four.standing_in_for(&std::collections::BTreeSet::from([lost]));
    let mut cluster = settled(&four, 4);
    cluster.members.remove(&lost);
    cluster.silent.clear();
    for group in cluster.groups.values_mut() {
        if group.leader == Some(lost) {
            group.leader = group.voters.iter().map(|r| r.member).find(|m| *m != lost);
        }
    }
    let options = Options {
        max_concurrent_moves: 8,
        paused: false,
    };
    let decision = decide(&cluster, &stand_ins, options);
    let mut removed = 0;
    for action in &decision.actions {
        match action {
            Action::RemoveReplica { replica, .. } => {
                assert_eq!(replica.member, lost, "only the dead voter goes: {action:?}");
                removed += 1;
            }
            other => panic!("nothing is added before the dead voter is removed: {other:?}"),
        }
    }
    assert_eq!(
        removed,
        four.partitions_of(lost).len(),
        "every group of the lost member drops it at once"
    );

    // A live giver (a plain scale-out): the receiver is hosted first, nobody is removed.
    let three = placement(3, 8, 3);
    let cluster = settled(&three, 4);
    let decision = decide(&cluster, &four, options);
    assert!(
        decision
            .actions
            .iter()
            .all(|action| !matches!(action, Action::RemoveReplica { .. })),
        "{:?}",
        decision.actions
    );
}
