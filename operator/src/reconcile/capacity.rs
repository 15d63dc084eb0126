//! The capacity guard (pure): a scale-in is adopted only if the members that remain can hold the
//! data. The projection uses what the members report: each partition's size (the largest copy),
//! summed per member of the smaller ring, against the smallest `maxmemory` among the spec's and the
//! ones the members run with: a raised `maxMemory` releases the scale-in only once the rollout has
//! restarted every member with it (before that, moves would land on members still at the old limit).

use ringcache_placement::{MemberId, ObservedCluster, Placement, PlacementSpec};

use super::validate::ValidSpec;

/// A scale-in held because it would not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleInBlock {
    /// Members of the ring now.
    pub from_members: u32,
    /// Members asked for.
    pub to_members: u32,
    /// The member of the smaller ring that would hold the most.
    pub busiest: MemberId,
    /// What it would hold, in estimated bytes.
    pub projected_bytes: u64,
    /// Every node's `maxmemory`.
    pub limit_bytes: u64,
    /// One copy of every partition, in estimated bytes.
    pub data_bytes: u64,
    /// The fewest members (at most `from_members`) whose busiest member fits.
    pub fewest_that_fit: u32,
}

impl ScaleInBlock {
    /// The condition's and Event's message, with the numbers to act on.
    pub fn message(&self) -> String {
        format!(
            "scale-in from {} to {} members is held: member {} would hold {} of data, more than \
             maxMemory {} ({} in one copy of every partition, replicated on {} members); raise \
             spec.maxMemory to at least {} or keep replicas at {} or more",
            self.from_members,
            self.to_members,
            self.busiest,
            human_bytes(self.projected_bytes),
            human_bytes(self.limit_bytes),
            human_bytes(self.data_bytes),
            self.to_members,
            human_bytes(self.projected_bytes),
            self.fewest_that_fit,
        )
    }
}

/// The busiest member of a ring of `members` and what it would hold.
fn busiest(valid: &ValidSpec, members: u32, observed: &ObservedCluster) -> Option<(MemberId, u64)> {
    let placement = Placement::compute(PlacementSpec {
        members,
        partitions: valid.partitions,
        replication_factor: valid.replication_factor,
        seed: 0,
    })
    .ok()?;
    (0..members)
        .map(|member| {
            let bytes = placement
                .partitions_of(member)
                .into_iter()
                .map(|partition| observed.partition_bytes(partition).unwrap_or(0))
                .sum::<u64>();
            (member, bytes)
        })
        .max_by_key(|(member, bytes)| (*bytes, std::cmp::Reverse(*member)))
}

/// The smallest non-zero `maxmemory` among the spec's and the members' (`None`: no limit anywhere).
fn effective_limit(spec_limit: u64, observed: &ObservedCluster) -> Option<u64> {
    std::iter::once(spec_limit)
        .chain(observed.members.values().map(|member| member.max_memory))
        .filter(|limit| *limit > 0)
        .min()
}

/// Whether shrinking the ring from `ring_members` to `valid.members` must be held. Only a scale-in
/// not yet adopted is checked: once adopted, a scale-in finishes (or is reversed by the user).
pub fn check_scale_in(
    ring_members: i32,
    valid: &ValidSpec,
    observed: &ObservedCluster,
) -> Option<ScaleInBlock> {
    let from = u32::try_from(ring_members).ok().filter(|from| *from >= 1)?;
    if valid.members >= from {
        return None;
    }
    let limit = effective_limit(valid.max_memory_bytes, observed)?;
    let (member, projected) = busiest(valid, valid.members, observed)?;
    if projected <= limit {
        return None;
    }
    let fewest_that_fit = (valid.members + 1..from)
        .find(|members| busiest(valid, *members, observed).is_some_and(|(_, bytes)| bytes <= limit))
        .unwrap_or(from);
    let data_bytes = valid
        .partitions
        .ids()
        .map(|partition| observed.partition_bytes(partition).unwrap_or(0))
        .sum();
    Some(ScaleInBlock {
        from_members: from,
        to_members: valid.members,
        busiest: member,
        projected_bytes: projected,
        limit_bytes: limit,
        data_bytes,
        fewest_that_fit,
    })
}

/// `12.3MiB`-style sizes for messages and status.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_placement::{ObservedMember, PartitionCount};

    fn valid(members: u32, max_memory_bytes: u64) -> ValidSpec {
        ValidSpec {
            partitions: PartitionCount::new(8).unwrap(),
            replication_factor: 3,
            members,
            max_memory_bytes,
        }
    }

    /// Every partition holds `bytes`, reported by member 0.
    fn observed(bytes: u64) -> ObservedCluster {
        let mut observed = ObservedCluster::default();
        observed.members.insert(
            0,
            ObservedMember {
                bytes: (0..8).map(|partition| (partition, bytes)).collect(),
                ..ObservedMember::default()
            },
        );
        observed
    }

    #[test]
    fn a_scale_in_that_fits_passes_and_one_that_does_not_is_held_with_numbers() {
        // 8 partitions x 3 copies x 10 MiB = 240 MiB: 60 MiB per member of 4, 80 MiB per member of 3.
        let mib = 1 << 20;
        let data = observed(10 * mib);
        assert_eq!(check_scale_in(4, &valid(3, 100 * mib), &data), None);
        let block = check_scale_in(4, &valid(3, 70 * mib), &data).expect("80 MiB > 70 MiB");
        assert_eq!(block.projected_bytes, 80 * mib);
        assert_eq!((block.from_members, block.to_members), (4, 3));
        assert_eq!(block.fewest_that_fit, 4);
        assert_eq!(block.data_bytes, 80 * mib);
        let message = block.message();
        assert!(
            message.contains("80.0MiB") && message.contains("70.0MiB"),
            "{message}"
        );
        // Raising maxMemory releases it.
        assert_eq!(check_scale_in(4, &valid(3, 80 * mib), &data), None);
    }

    #[test]
    fn a_raised_limit_releases_only_once_the_members_run_with_it() {
        let mib = 1 << 20;
        let mut data = observed(10 * mib);
        // The spec says 100 MiB; member 0 still runs with the old 70 MiB.
        data.members.get_mut(&0).unwrap().max_memory = 70 * mib;
        let block = check_scale_in(4, &valid(3, 100 * mib), &data).expect("held until rolled out");
        assert_eq!(block.limit_bytes, 70 * mib);
        data.members.get_mut(&0).unwrap().max_memory = 100 * mib;
        assert_eq!(check_scale_in(4, &valid(3, 100 * mib), &data), None);
        // A member running with a limit holds a scale-in even when the spec sets none.
        data.members.get_mut(&0).unwrap().max_memory = 70 * mib;
        assert!(check_scale_in(4, &valid(3, 0), &data).is_some());
    }

    #[test]
    fn scale_out_no_limit_and_a_new_cluster_are_never_held() {
        let data = observed(1 << 30);
        assert_eq!(check_scale_in(3, &valid(4, 1), &data), None, "scale-out");
        assert_eq!(check_scale_in(4, &valid(3, 0), &data), None, "no maxmemory");
        assert_eq!(check_scale_in(0, &valid(3, 1), &data), None, "no ring yet");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(3 << 20), "3.0MiB");
    }
}
