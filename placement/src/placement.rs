//! Partition → replicas: which `replicationFactor` members hold each partition.
//!
//! Members are StatefulSet ordinals, so a cluster of `N` members is always exactly `{0, …, N-1}`: scale-out
//! appends the next ordinal and scale-in removes the highest. The placement exploits that shape. It is
//! defined by induction over the member count, like jump consistent hashing, but with exact quotas
//! instead of random draws:
//!
//! ```text
//!  N = RF      every partition on members 0..RF (replica order rotated so first replicas spread)
//!  N → N+1     the new member takes exactly ⌊RF·P/(N+1)⌋ replicas, one at a time, each from the
//!              currently most loaded member, choosing among its partitions the one the new member
//!              does not hold yet with the highest hash score (ties between members broken by hash)
//! ```
//!
//! Consequences, each checked by the property tests below:
//! - every member holds ⌊RF·P/N⌋ or ⌈RF·P/N⌉ replicas: the load never exceeds the average rounded up;
//! - N → N+1 moves exactly the new member's share, ⌊RF·P/(N+1)⌋ ≤ the ideal `RF·P/(N+1)`, and
//!   N+1 → N moves the same replicas back; N → M in one go moves only replicas that land on the new
//!   members (or, shrinking, that leave the removed ones);
//! - the replicas of a partition are always distinct members;
//! - the result is a pure function of (N, P, RF, seed).
//!
//! Rendezvous hashing with a bounded-load cap, the other usual choice, cannot promise both bounds with as
//! few as 16 partitions: its movement is only right on average. What this scheme gives up is arbitrary
//! member sets (removing member 2 of 5); a StatefulSet never produces those, and a failed member is
//! handled by Raft, not by re-placing.

use crate::partition::{PartitionCount, PartitionId};
use serde::{Deserialize, Serialize};

/// A cluster member: its StatefulSet ordinal.
pub type MemberId = u32;

/// The inputs that fully determine a placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementSpec {
    /// Number of members, ordinals `0..members`.
    pub members: u32,
    /// Number of partitions.
    pub partitions: PartitionCount,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// Seed of the hash that picks which partitions a new member takes.
    pub seed: u64,
}

/// Why a placement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// A partition needs at least one replica.
    #[error("replication factor must be at least 1")]
    ZeroReplicationFactor,
    /// Replicas of one partition must sit on distinct members.
    #[error(
        "replication factor {replication_factor} needs at least {replication_factor} members, got {members}"
    )]
    TooFewMembers {
        /// The requested replication factor.
        replication_factor: u32,
        /// The member count that is too small.
        members: u32,
    },
}

/// Where every partition's replicas live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    spec: PlacementSpec,
    /// `replicas[p]` lists the members holding partition `p`; the first is the preferred leader.
    replicas: Vec<Vec<MemberId>>,
}

impl Placement {
    /// Computes the placement for `spec`.
    pub fn compute(spec: PlacementSpec) -> Result<Self, PlacementError> {
        let replication_factor = spec.replication_factor;
        if replication_factor == 0 {
            return Err(PlacementError::ZeroReplicationFactor);
        }
        if spec.members < replication_factor {
            return Err(PlacementError::TooFewMembers {
                replication_factor,
                members: spec.members,
            });
        }
        let partition_count = spec.partitions.get();
        let replicas: Vec<Vec<MemberId>> = spec
            .partitions
            .ids()
            .map(|partition| {
                (0..replication_factor)
                    .map(|position| (partition + position) % replication_factor)
                    .collect()
            })
            .collect();
        let mut placement = Placement { spec, replicas };
        // `holds[member][partition]`: a bitmap mirror of `replicas`, for constant-time membership tests.
        let mut holds: Vec<Vec<bool>> = (0..replication_factor)
            .map(|_| vec![true; partition_count as usize])
            .collect();
        let mut loads: Vec<u64> = vec![u64::from(partition_count); replication_factor as usize];
        let total = u64::from(partition_count) * u64::from(replication_factor);
        for newcomer in replication_factor..spec.members {
            holds.push(vec![false; partition_count as usize]);
            loads.push(0);
            // The newcomer's preference over partitions, best first. A steal takes the donor's most
            // preferred partition, which is the first one in this order that the donor holds.
            let mut preference: Vec<PartitionId> = spec.partitions.ids().collect();
            preference.sort_by_key(|&partition| {
                std::cmp::Reverse(score(spec.seed, newcomer, PARTITION, partition))
            });
            let quota = total / u64::from(newcomer + 1);
            for _ in 0..quota {
                let donor = (0..newcomer)
                    .max_by_key(|&member| {
                        (
                            loads[member as usize],
                            score(spec.seed, newcomer, MEMBER, member),
                        )
                    })
                    .expect("members start at the replication factor, which is at least 1");
                // The donor is the most loaded member and the newcomer is below its quota, so the
                // donor holds more partitions than the newcomer: one of them is not on the newcomer.
                let partition = preference
                    .iter()
                    .copied()
                    .find(|&partition| {
                        holds[donor as usize][partition as usize]
                            && !holds[newcomer as usize][partition as usize]
                    })
                    .expect("the most loaded member holds a partition the newcomer lacks");
                holds[donor as usize][partition as usize] = false;
                holds[newcomer as usize][partition as usize] = true;
                loads[donor as usize] -= 1;
                loads[newcomer as usize] += 1;
                placement.replace_replica(partition, donor, newcomer);
            }
        }
        Ok(placement)
    }

    /// The inputs this placement was computed from.
    pub fn spec(&self) -> PlacementSpec {
        self.spec
    }

    /// The members holding `partition`, preferred leader first.
    pub fn replicas_of(&self, partition: PartitionId) -> &[MemberId] {
        &self.replicas[partition as usize]
    }

    /// Every partition's replicas, indexed by partition.
    pub fn all_replicas(&self) -> &[Vec<MemberId>] {
        &self.replicas
    }

    /// Number of replicas each member holds, indexed by member.
    pub fn loads(&self) -> Vec<u32> {
        let mut loads = vec![0u32; self.spec.members as usize];
        for member in self.replicas.iter().flatten() {
            loads[*member as usize] += 1;
        }
        loads
    }

    /// The partitions `member` holds, in partition order.
    pub fn partitions_of(&self, member: MemberId) -> Vec<PartitionId> {
        (0..self.spec.partitions.get())
            .filter(|&partition| self.replicas[partition as usize].contains(&member))
            .collect()
    }

    /// The same replicas described by another spec: the starting point of a plan replay.
    pub(crate) fn with_spec(mut self, spec: PlacementSpec) -> Self {
        self.spec = spec;
        self
    }

    /// This placement with every replica on a member of `lost` (down past its grace period) moved to
    /// a stand-in: the member of the ring, not lost and not already holding the partition, that
    /// holds the fewest replicas so far (the lowest ordinal among equals). Partitions are visited in
    /// order, so the choice is deterministic; a replica with no possible stand-in stays where it is.
    /// When the lost member comes back, the plain placement applies again and its replicas return.
    pub fn standing_in_for(&self, lost: &std::collections::BTreeSet<MemberId>) -> Placement {
        let mut placement = self.clone();
        if lost.is_empty() {
            return placement;
        }
        let mut loads = placement.loads();
        let mut assigned = Vec::new();
        for partition in self.spec.partitions.ids() {
            for position in 0..placement.replicas[partition as usize].len() {
                let member = placement.replicas[partition as usize][position];
                if !lost.contains(&member) {
                    continue;
                }
                let replicas = &placement.replicas[partition as usize];
                let stand_in = (0..self.spec.members)
                    .filter(|candidate| !lost.contains(candidate) && !replicas.contains(candidate))
                    .min_by_key(|candidate| (loads[*candidate as usize], *candidate));
                if let Some(stand_in) = stand_in {
                    placement.replicas[partition as usize][position] = stand_in;
                    loads[stand_in as usize] += 1;
                    loads[member as usize] -= 1;
                    assigned.push((partition, position));
                }
            }
        }
        // Greedy choices can leave two stand-ins apart by two; hand such replicas on while one
        // can go from a most loaded stand-in to one at least two below it.
        let live = |member: &MemberId| !lost.contains(member);
        for _ in 0..assigned.len() {
            let most = (0..self.spec.members)
                .filter(live)
                .map(|m| loads[m as usize])
                .max();
            let better = assigned.iter().find_map(|&(partition, position)| {
                let replicas = &placement.replicas[partition as usize];
                let holder = replicas[position];
                if Some(loads[holder as usize]) != most {
                    return None;
                }
                (0..self.spec.members)
                    .filter(|candidate| live(candidate) && !replicas.contains(candidate))
                    .find(|candidate| loads[*candidate as usize] + 2 <= loads[holder as usize])
                    .map(|candidate| (partition, position, holder, candidate))
            });
            let Some((partition, position, holder, candidate)) = better else {
                break;
            };
            placement.replicas[partition as usize][position] = candidate;
            loads[holder as usize] -= 1;
            loads[candidate as usize] += 1;
        }
        placement
    }

    /// Replaces the replica of `partition` on `from` by one on `to`, keeping its position (and so its
    /// preferred-leader rank). Used to replay plans; `from` must hold the partition and `to` must not.
    pub(crate) fn replace_replica(
        &mut self,
        partition: PartitionId,
        from: MemberId,
        to: MemberId,
    ) -> bool {
        let replicas = &mut self.replicas[partition as usize];
        if replicas.contains(&to) {
            return false;
        }
        match replicas.iter_mut().find(|member| **member == from) {
            Some(slot) => {
                *slot = to;
                true
            }
            None => false,
        }
    }
}

/// A well-mixed 64-bit hash of (seed, newcomer, domain, item): SplitMix64's finaliser applied in
/// sequence. Hand-written rather than `std`'s hasher because its output must never change between Rust
/// releases: the operator and nodes of different builds must compute the same placement.
const MEMBER: u64 = 0x6d65_6d62;
const PARTITION: u64 = 0x7061_7274;

fn score(seed: u64, newcomer: MemberId, domain: u64, item: u32) -> u64 {
    let mut state = seed;
    for word in [u64::from(newcomer), domain, u64::from(item)] {
        state = mix(state ^ word.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    state
}

fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn spec(members: u32, partitions: u32, replication_factor: u32, seed: u64) -> PlacementSpec {
        PlacementSpec {
            members,
            partitions: PartitionCount::new(partitions).unwrap(),
            replication_factor,
            seed,
        }
    }

    fn placement(members: u32, partitions: u32, replication_factor: u32, seed: u64) -> Placement {
        Placement::compute(spec(members, partitions, replication_factor, seed)).unwrap()
    }

    /// Replicas that sit on a different member set between two placements of the same partitions.
    fn replicas_moved(from: &Placement, to: &Placement) -> u64 {
        from.all_replicas()
            .iter()
            .zip(to.all_replicas())
            .map(|(before, after)| {
                after
                    .iter()
                    .filter(|member| !before.contains(member))
                    .count()
            })
            .sum::<usize>() as u64
    }

    /// `placement(4, 8, 2, 0)` as computed when the hash was chosen.
    const PINNED: [[MemberId; 2]; 8] = [
        [0, 3],
        [1, 0],
        [3, 1],
        [2, 0],
        [2, 3],
        [1, 2],
        [3, 1],
        [2, 0],
    ];

    #[test]
    fn rejects_impossible_specs() {
        assert_eq!(
            Placement::compute(spec(2, 16, 3, 0)),
            Err(PlacementError::TooFewMembers {
                replication_factor: 3,
                members: 2
            })
        );
        assert_eq!(
            Placement::compute(spec(2, 16, 0, 0)),
            Err(PlacementError::ZeroReplicationFactor)
        );
    }

    #[test]
    fn a_single_member_holds_everything() {
        let single = placement(1, 16, 1, 0);
        assert_eq!(single.loads(), vec![16]);
    }

    #[test]
    fn known_placement_is_stable_across_releases() {
        // Pins the hash: if this changes, operators and nodes of different versions would disagree.
        let four = placement(4, 8, 2, 0);
        assert_eq!(four.loads(), vec![4, 4, 4, 4]);
        let pinned: Vec<Vec<MemberId>> = PINNED.iter().map(|replicas| replicas.to_vec()).collect();
        assert_eq!(four.all_replicas(), pinned);
    }

    #[test]
    fn seeds_change_which_partitions_move_but_not_how_many() {
        let a = placement(5, 64, 3, 1);
        let b = placement(5, 64, 3, 2);
        assert_ne!(a.all_replicas(), b.all_replicas());
        assert_eq!(a.loads().iter().sum::<u32>(), b.loads().iter().sum::<u32>());
    }

    #[test]
    fn large_partition_counts_stay_balanced() {
        let big = placement(32, 16384, 3, 7);
        let loads = big.loads();
        let max = *loads.iter().max().unwrap();
        let min = *loads.iter().min().unwrap();
        assert!(max - min <= 1, "loads {min}..{max}");
    }

    fn check_invariants(placement: &Placement) {
        let spec = placement.spec();
        let total = u64::from(spec.partitions.get()) * u64::from(spec.replication_factor);
        for (partition, replicas) in placement.all_replicas().iter().enumerate() {
            assert_eq!(
                replicas.len() as u32,
                spec.replication_factor,
                "partition {partition}"
            );
            let distinct: BTreeSet<_> = replicas.iter().collect();
            assert_eq!(
                distinct.len(),
                replicas.len(),
                "partition {partition}: {replicas:?}"
            );
            assert!(replicas.iter().all(|member| *member < spec.members));
        }
        let average = total as f64 / f64::from(spec.members);
        let cap = (average * 1.25).ceil() as u32;
        let floor = (average * 0.75).floor() as u32;
        for (member, load) in placement.loads().into_iter().enumerate() {
            assert!(
                load <= cap,
                "member {member} holds {load}, cap {cap} ({spec:?})"
            );
            assert!(
                load >= floor,
                "member {member} holds {load}, floor {floor} ({spec:?})"
            );
            // The scheme's own, stronger promise: within one replica of the average.
            assert!(
                f64::from(load) <= average.ceil() && f64::from(load) >= average.floor(),
                "member {member} holds {load}, average {average} ({spec:?})"
            );
        }
    }

    #[test]
    fn invariants_and_movement_bounds_over_the_whole_grid() {
        // The grid the issue names, exhaustively rather than sampled: N 1..=32, P, RF.
        for partitions in [16, 64, 256] {
            for replication_factor in 1..=3 {
                let mut previous: Option<Placement> = None;
                for members in replication_factor..=32 {
                    let current = placement(members, partitions, replication_factor, 42);
                    check_invariants(&current);
                    assert_eq!(
                        current,
                        placement(members, partitions, replication_factor, 42)
                    );
                    if let Some(previous) = previous {
                        let ideal = f64::from(partitions * replication_factor) / f64::from(members);
                        let grow = replicas_moved(&previous, &current);
                        let shrink = replicas_moved(&current, &previous);
                        let context =
                            format!("N={} P={partitions} RF={replication_factor}", members - 1);
                        assert!(
                            grow as f64 <= 1.15 * ideal,
                            "{context}: grow moved {grow}, ideal {ideal}"
                        );
                        assert!(
                            shrink as f64 <= 1.15 * ideal,
                            "{context}: shrink moved {shrink}, ideal {ideal}"
                        );
                        // Everything that moves lands on (or leaves) the new member.
                        assert_eq!(
                            grow,
                            u64::from(current.loads()[members as usize - 1]),
                            "{context}"
                        );
                    }
                    previous = Some(current);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_spec_is_deterministic_balanced_and_distinct(
            members in 1u32..=40,
            partitions in 1u32..=512,
            replication_factor in 1u32..=5,
            seed in any::<u64>(),
        ) {
            prop_assume!(members >= replication_factor);
            let first = placement(members, partitions, replication_factor, seed);
            check_invariants(&first);
            prop_assert_eq!(&first, &placement(members, partitions, replication_factor, seed));
        }

        #[test]
        fn multi_step_scaling_moves_only_onto_new_members(
            from in 3u32..=20,
            extra in 1u32..=12,
            partitions in prop::sample::select(vec![16u32, 64, 256]),
            seed in any::<u64>(),
        ) {
            let to = from + extra;
            let small = placement(from, partitions, 3, seed);
            let large = placement(to, partitions, 3, seed);
            let moved = replicas_moved(&small, &large);
            let on_new_members: u64 = large.loads()[from as usize..].iter().map(|l| u64::from(*l)).sum();
            prop_assert_eq!(moved, on_new_members);
            let ideal = f64::from(partitions * 3) * f64::from(extra) / f64::from(to);
            prop_assert!(moved as f64 <= 1.15 * ideal.max(1.0), "moved {} ideal {}", moved, ideal);
        }
    }

    #[test]
    fn stand_ins_take_a_lost_members_replicas_evenly_and_only_those() {
        let spec = PlacementSpec {
            members: 5,
            partitions: crate::PartitionCount::new(64).unwrap(),
            replication_factor: 3,
            seed: 0,
        };
        let placement = Placement::compute(spec).unwrap();
        let lost = std::collections::BTreeSet::from([2]);
        let repaired = placement.standing_in_for(&lost);
        for partition in spec.partitions.ids() {
            let before = placement.replicas_of(partition);
            let after = repaired.replicas_of(partition);
            let mut distinct = after.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "partition {partition}: {after:?}");
            assert!(!after.contains(&2));
            for (old, new) in before.iter().zip(after) {
                assert!(
                    old == new || *old == 2,
                    "only the lost member's replicas change"
                );
            }
        }
        let loads = repaired.loads();
        assert_eq!(loads[2], 0);
        let live: Vec<u32> = [0, 1, 3, 4].iter().map(|member| loads[*member]).collect();
        assert!(
            live.iter().max().unwrap() - live.iter().min().unwrap() <= 1,
            "{loads:?}"
        );
        assert_eq!(placement.standing_in_for(&Default::default()), placement);
        // With RF members only, nobody can stand in.
        let tight = Placement::compute(PlacementSpec { members: 3, ..spec }).unwrap();
        assert_eq!(tight.standing_in_for(&lost), tight);
    }
}
