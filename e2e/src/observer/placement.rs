//! The placement the members report, and how it compares with the ring (`Placement::compute`,
//! seed 0, the ring the operator targets).

use std::collections::{BTreeMap, BTreeSet};

use ringcache_admin::{MemberStatus, Role};
use ringcache_placement::{PartitionCount, Placement, PlacementSpec};

/// One partition as the data plane reports it (members by StatefulSet ordinal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedPartition {
    /// Voters in the leader's view (or, without a leader, the view of the highest term).
    pub voters: BTreeSet<u32>,
    pub learners: BTreeSet<u32>,
    /// The member that reports itself leader (highest term when several do).
    pub leader: Option<u32>,
    /// A membership change is half-way.
    pub joint: bool,
    /// Members that report hosting a replica, whatever the group thinks of them (a replica removed
    /// from the group but not dropped still counts).
    pub hosts: BTreeSet<u32>,
}

/// Every partition some answering member hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedPlacement {
    pub partitions: BTreeMap<u32, ObservedPartition>,
    /// Members whose status was read.
    pub answering: BTreeSet<u32>,
}

/// Assembles the placement from members' statuses.
pub fn observed_placement<'a>(
    statuses: impl IntoIterator<Item = &'a MemberStatus>,
) -> ObservedPlacement {
    let mut observed = ObservedPlacement::default();
    // Per partition, the term of the view currently taken and whether it came from a leader.
    let mut chosen: BTreeMap<u32, (bool, u64)> = BTreeMap::new();
    for status in statuses {
        let ordinal = u32::from(status.member.ordinal);
        observed.answering.insert(ordinal);
        for partition in &status.partitions {
            let view = observed.partitions.entry(partition.partition).or_default();
            view.hosts.insert(ordinal);
            let leads = partition.role == Role::Leader;
            let rank = (leads, partition.term);
            if chosen
                .get(&partition.partition)
                .is_some_and(|best| *best >= rank)
            {
                continue;
            }
            chosen.insert(partition.partition, rank);
            view.voters = partition
                .voters
                .iter()
                .map(|replica| u32::from(replica.ordinal))
                .collect();
            view.learners = partition
                .learners
                .iter()
                .map(|replica| u32::from(replica.ordinal))
                .collect();
            view.joint = partition.joint;
            view.leader = leads.then_some(ordinal);
        }
    }
    observed
}

/// The ring of `members` members: partition → the set of members that must hold it.
pub fn ring(
    members: u32,
    partitions: u32,
    replication_factor: u32,
) -> Result<Vec<BTreeSet<u32>>, String> {
    let partition_count = PartitionCount::new(partitions).map_err(|error| error.to_string())?;
    let placement = Placement::compute(PlacementSpec {
        members,
        partitions: partition_count,
        replication_factor,
        seed: 0,
    })
    .map_err(|error| error.to_string())?;
    Ok(placement
        .all_replicas()
        .iter()
        .map(|replicas| replicas.iter().copied().collect())
        .collect())
}

/// The observed placement is exactly the ring of `members`: each partition has a leader, its voters
/// are the ring's members for it, no learners, no joint configuration, and no member hosts a
/// partition outside its assignment. The error lists every difference (first 20).
pub fn matches_ring(
    observed: &ObservedPlacement,
    members: u32,
    partitions: u32,
    replication_factor: u32,
) -> Result<(), String> {
    let target = ring(members, partitions, replication_factor)?;
    let mut differences = Vec::new();
    for (partition, expected) in (0u32..).zip(&target) {
        let Some(view) = observed.partitions.get(&partition) else {
            differences.push(format!("p{partition}: no answering member hosts it"));
            continue;
        };
        if view.leader.is_none() {
            differences.push(format!("p{partition}: no leader"));
        }
        if &view.voters != expected {
            differences.push(format!(
                "p{partition}: voters {:?}, ring {:?}",
                view.voters, expected
            ));
        }
        if !view.learners.is_empty() {
            differences.push(format!("p{partition}: learners {:?}", view.learners));
        }
        if view.joint {
            differences.push(format!("p{partition}: joint configuration"));
        }
        if &view.hosts != expected {
            differences.push(format!(
                "p{partition}: hosted on {:?}, ring {:?}",
                view.hosts, expected
            ));
        }
    }
    for partition in observed.partitions.keys() {
        if *partition >= partitions {
            differences.push(format!("p{partition}: beyond the {partitions} partitions"));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        let shown = differences.len().min(20);
        Err(format!(
            "{} differences from the {members}-member ring: {}",
            differences.len(),
            differences[..shown].join("; ")
        ))
    }
}

/// Every member `0..members` leads ⌊P/N⌋ or ⌈P/N⌉ partitions (P = partitions observed), and no
/// partition is leaderless or led from outside the ring.
pub fn leadership_balanced(observed: &ObservedPlacement, members: u32) -> Result<(), String> {
    let partitions = observed.partitions.len() as u32;
    if members == 0 {
        return Err("no members".to_owned());
    }
    let (floor, ceiling) = (partitions / members, partitions.div_ceil(members));
    let mut leads: BTreeMap<u32, u32> = (0..members).map(|member| (member, 0)).collect();
    let mut problems = Vec::new();
    for (partition, view) in &observed.partitions {
        match view.leader {
            Some(leader) => *leads.entry(leader).or_default() += 1,
            None => problems.push(format!("p{partition} has no leader")),
        }
    }
    for (member, count) in &leads {
        if *member >= members {
            problems.push(format!("member {member} outside the ring leads {count}"));
        } else if !(floor..=ceiling).contains(count) {
            problems.push(format!("member {member} leads {count}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "leadership is not balanced (each of {members} members should lead {floor} or \
             {ceiling} of {partitions}; leaders per member {leads:?}): {}",
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_admin::Replica;

    fn replica(ordinal: u32) -> Replica {
        Replica {
            id: u64::from(ordinal) << 48 | 1,
            ordinal: ordinal as u16,
            address: format!("127.0.0.{ordinal}:6379@16379"),
        }
    }

    /// Statuses of members hosting `placement[p]` with `leaders[p]` leading at term 2. Built from
    /// JSON, as the members send it, so fields the node adds later (with defaults) need no change.
    fn statuses(placement: &[BTreeSet<u32>], leaders: &[u32], members: u32) -> Vec<MemberStatus> {
        let replica_json = |ordinal: u32| serde_json::to_value(replica(ordinal)).unwrap();
        (0..members)
            .map(|member| {
                let partitions: Vec<serde_json::Value> = (0u32..)
                    .zip(placement)
                    .filter(|(_, holders)| holders.contains(&member))
                    .map(|(partition, holders)| {
                        let leader = leaders[partition as usize];
                        let voters: Vec<serde_json::Value> = holders
                            .iter()
                            .map(|ordinal| replica_json(*ordinal))
                            .collect();
                        serde_json::json!({
                            "partition": partition,
                            "slots": [0, 0],
                            "role": if leader == member { "leader" } else { "follower" },
                            "term": 2,
                            "leader": replica_json(leader),
                            "voters": voters,
                            "learners": [],
                            "joint": false,
                            "lastLogIndex": null,
                            "committedIndex": null,
                            "appliedIndex": null,
                            "snapshotIndex": null,
                            "keys": 0,
                        })
                    })
                    .collect();
                serde_json::from_value(serde_json::json!({
                    "member": replica_json(member),
                    "cluster": {"partitions": placement.len(), "replicationFactor": 3},
                    "ready": true,
                    "notReadyReason": null,
                    "partitions": partitions,
                }))
                .expect("a member status")
            })
            .collect()
    }

    /// A balanced choice of leaders among each partition's ring replicas, found as a bipartite
    /// matching of partitions to "leadership slots" (⌊P/N⌋ per member, plus one more each when N
    /// does not divide P). Slots at the floor are filled first; augmenting paths never empty a
    /// filled slot, so every member ends with ⌊P/N⌋ or ⌈P/N⌉. Proves such a choice exists.
    fn balanced_leaders(placement: &[BTreeSet<u32>], members: u32) -> Vec<u32> {
        let partitions = placement.len();
        let floor = partitions / members as usize;
        let mut slots: Vec<u32> = (0..members)
            .flat_map(|member| std::iter::repeat_n(member, floor))
            .collect();
        if !partitions.is_multiple_of(members as usize) {
            slots.extend(0..members);
        }
        let mut slot_of: Vec<Option<usize>> = vec![None; partitions];
        let mut partition_of: Vec<Option<usize>> = vec![None; slots.len()];
        fn from_slot(
            slot: usize,
            slots: &[u32],
            placement: &[BTreeSet<u32>],
            seen: &mut [bool],
            slot_of: &mut [Option<usize>],
            partition_of: &mut [Option<usize>],
        ) -> bool {
            for partition in 0..placement.len() {
                if seen[partition] || !placement[partition].contains(&slots[slot]) {
                    continue;
                }
                seen[partition] = true;
                let free = match slot_of[partition] {
                    None => true,
                    Some(other) => from_slot(other, slots, placement, seen, slot_of, partition_of),
                };
                if free {
                    slot_of[partition] = Some(slot);
                    partition_of[slot] = Some(partition);
                    return true;
                }
            }
            false
        }
        fn from_partition(
            partition: usize,
            slots: &[u32],
            placement: &[BTreeSet<u32>],
            seen: &mut [bool],
            slot_of: &mut [Option<usize>],
            partition_of: &mut [Option<usize>],
        ) -> bool {
            for slot in 0..slots.len() {
                if seen[slot] || !placement[partition].contains(&slots[slot]) {
                    continue;
                }
                seen[slot] = true;
                let free = match partition_of[slot] {
                    None => true,
                    Some(other) => {
                        from_partition(other, slots, placement, seen, slot_of, partition_of)
                    }
                };
                if free {
                    slot_of[partition] = Some(slot);
                    partition_of[slot] = Some(partition);
                    return true;
                }
            }
            false
        }
        for slot in 0..members as usize * floor {
            let mut seen = vec![false; partitions];
            from_slot(
                slot,
                &slots,
                placement,
                &mut seen,
                &mut slot_of,
                &mut partition_of,
            );
        }
        for partition in 0..partitions {
            if slot_of[partition].is_none() {
                let mut seen = vec![false; slots.len()];
                from_partition(
                    partition,
                    &slots,
                    placement,
                    &mut seen,
                    &mut slot_of,
                    &mut partition_of,
                );
            }
        }
        slot_of
            .iter()
            .map(|slot| slots[slot.expect("every partition gets a leader")])
            .collect()
    }

    #[test]
    fn the_ring_itself_matches_and_can_be_balanced() {
        for members in 3..=8 {
            let target = ring(members, 16, 3).unwrap();
            let leaders = balanced_leaders(&target, members);
            let observed = observed_placement(&statuses(&target, &leaders, members));
            assert_eq!(matches_ring(&observed, members, 16, 3), Ok(()));
            assert_eq!(
                leadership_balanced(&observed, members),
                Ok(()),
                "{leaders:?}"
            );
            assert_eq!(observed.answering.len() as u32, members);
        }
    }

    #[test]
    fn another_members_ring_does_not_match() {
        let five = ring(5, 16, 3).unwrap();
        let observed = observed_placement(&statuses(&five, &balanced_leaders(&five, 5), 5));
        let error = matches_ring(&observed, 4, 16, 3).unwrap_err();
        assert!(error.contains("voters"), "{error}");
    }

    #[test]
    fn a_replica_kept_after_its_removal_is_outside_the_assignment() {
        let target = ring(4, 16, 3).unwrap();
        let leaders = balanced_leaders(&target, 4);
        let mut members = statuses(&target, &leaders, 4);
        // Member 3 hosts partition p although the group no longer has it as a voter.
        let partition = (0..16).find(|p| !target[*p as usize].contains(&3)).unwrap();
        let mut stale = members[0]
            .partitions
            .iter()
            .chain(&members[1].partitions)
            .find(|view| view.partition == partition)
            .unwrap()
            .clone();
        stale.role = Role::Follower;
        stale.term = 1;
        members[3].partitions.push(stale);
        let observed = observed_placement(&members);
        let error = matches_ring(&observed, 4, 16, 3).unwrap_err();
        assert!(
            error.contains(&format!("p{partition}: hosted on")),
            "{error}"
        );
        assert!(!error.contains("voters"), "the leader's view wins: {error}");
    }

    #[test]
    fn learners_joint_configurations_and_missing_leaders_are_differences() {
        let target = ring(3, 16, 3).unwrap();
        let leaders = balanced_leaders(&target, 3);
        let mut members = statuses(&target, &leaders, 3);
        for status in &mut members {
            for view in &mut status.partitions {
                if view.partition == 2 {
                    view.learners.push(replica(4));
                    view.joint = true;
                }
                if view.partition == 5 {
                    view.role = Role::Follower;
                }
            }
        }
        let observed = observed_placement(&members);
        let error = matches_ring(&observed, 3, 16, 3).unwrap_err();
        for expected in ["p2: learners", "p2: joint", "p5: no leader"] {
            assert!(error.contains(expected), "{expected} in {error}");
        }
        assert!(leadership_balanced(&observed, 3).is_err());
    }

    #[test]
    fn all_leaders_on_one_member_is_unbalanced() {
        let target = ring(3, 16, 3).unwrap();
        let observed = observed_placement(&statuses(&target, &[0; 16], 3));
        let error = leadership_balanced(&observed, 3).unwrap_err();
        assert!(error.contains("member 0 leads 16"), "{error}");
        assert!(error.contains("member 1 leads 0"), "{error}");
    }
}
