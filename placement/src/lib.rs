//! Pure data placement for ringcache, shared by the operator and the node so they can never disagree.
//!
//! ```text
//!  key ──CRC16(hash tag) mod 16384──► slot ──contiguous ranges──► partition ──placement──► RF members
//!                                                                                │
//!            placement(N members) ──plan──► ordered replica moves ──► placement(M members)
//! ```
//!
//! Everything here is a deterministic function of its inputs: no clock, no randomness, no IO. The
//! operator uses [`plan`] to decide which replica moves a scale operation needs; the node uses
//! [`key_slot`] and [`PartitionCount::partition_of`] to route a key to its partition.

pub mod partition;
pub mod placement;
pub mod plan;
pub mod slot;

pub use partition::{DEFAULT_PARTITIONS, InvalidPartitionCount, PartitionCount, PartitionId};
pub use placement::{MemberId, Placement, PlacementError, PlacementSpec};
pub use plan::{MoveStep, Plan, PlanError, ReplicaMove, ReplicaSet, plan};
pub use slot::{SLOT_COUNT, Slot, crc16_xmodem, hash_tag, key_slot};
