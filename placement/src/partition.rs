//! Slot → partition: `P` partitions, each owning one contiguous range of slots.
//!
//! Partition `p` owns slots `[p·16384/P, (p+1)·16384/P)` (integer division), so ranges differ in size
//! by at most one slot whatever `P` is, and `CLUSTER SLOTS` can describe each partition as one range.

use crate::slot::{SLOT_COUNT, Slot};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Index of a partition, `0..P`.
pub type PartitionId = u32;

/// The default number of partitions of a cluster.
pub const DEFAULT_PARTITIONS: u32 = 64;

/// A validated partition count, `1..=16384`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PartitionCount(u32);

/// The partition count is outside `1..=16384`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partitions must be between 1 and {max}, got {got}", max = SLOT_COUNT)]
pub struct InvalidPartitionCount {
    /// The rejected value.
    pub got: u64,
}

impl PartitionCount {
    /// Validates `count`: every partition must own at least one slot.
    pub fn new(count: u32) -> Result<Self, InvalidPartitionCount> {
        if count == 0 || count > u32::from(SLOT_COUNT) {
            return Err(InvalidPartitionCount {
                got: u64::from(count),
            });
        }
        Ok(Self(count))
    }

    /// The count as a number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The partition that owns `slot`.
    pub fn partition_of(self, slot: Slot) -> PartitionId {
        let slots = u64::from(SLOT_COUNT);
        let owner = ((u64::from(slot) + 1) * u64::from(self.0) - 1) / slots;
        owner as PartitionId
    }

    /// The slots partition `partition` owns.
    pub fn slots_of(self, partition: PartitionId) -> Range<Slot> {
        let start = |p: u32| (u64::from(p) * u64::from(SLOT_COUNT) / u64::from(self.0)) as Slot;
        let end = if partition + 1 >= self.0 {
            SLOT_COUNT
        } else {
            start(partition + 1)
        };
        start(partition)..end
    }

    /// All partition ids, in order.
    pub fn ids(self) -> Range<PartitionId> {
        0..self.0
    }
}

impl Default for PartitionCount {
    fn default() -> Self {
        Self(DEFAULT_PARTITIONS)
    }
}

impl TryFrom<u32> for PartitionCount {
    type Error = InvalidPartitionCount;
    fn try_from(count: u32) -> Result<Self, Self::Error> {
        Self::new(count)
    }
}

impl From<PartitionCount> for u32 {
    fn from(count: PartitionCount) -> u32 {
        count.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_counts_that_leave_a_partition_without_slots() {
        assert!(PartitionCount::new(0).is_err());
        assert!(PartitionCount::new(16385).is_err());
        assert!(PartitionCount::new(1).is_ok());
        assert!(PartitionCount::new(16384).is_ok());
    }

    #[test]
    fn ranges_tile_the_slot_space_and_agree_with_partition_of() {
        for count in [1, 2, 3, 7, 16, 64, 100, 256, 1000, 16383, 16384] {
            let partitions = PartitionCount::new(count).unwrap();
            let mut next_slot: u32 = 0;
            for partition in partitions.ids() {
                let range = partitions.slots_of(partition);
                assert_eq!(u32::from(range.start), next_slot, "P={count} p={partition}");
                assert!(
                    range.end > range.start,
                    "P={count} p={partition} owns no slot"
                );
                for slot in range.clone() {
                    assert_eq!(
                        partitions.partition_of(slot),
                        partition,
                        "P={count} slot={slot}"
                    );
                }
                next_slot = u32::from(range.end);
            }
            assert_eq!(next_slot, u32::from(SLOT_COUNT));
        }
    }

    #[test]
    fn default_is_64_partitions_of_256_slots() {
        let partitions = PartitionCount::default();
        assert_eq!(partitions.get(), 64);
        assert_eq!(partitions.slots_of(0), 0..256);
        assert_eq!(partitions.slots_of(63), 16128..16384);
    }
}
