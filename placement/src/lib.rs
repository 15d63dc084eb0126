//! Pure data placement for ringcache, shared by the operator and the node so they can never disagree.
//!
//! ```text
//!  key ──CRC16(hash tag) mod 16384──► slot ──contiguous ranges──► partition ──placement──► RF members
//!                                                                                │
//!   observed placement (what the members report) ──mover──► next admin calls ──► placement(M members)
//! ```
//!
//! Everything here is a deterministic function of its inputs: no clock, no randomness, no IO. The
//! operator assembles an [`ObservedCluster`] from the members' status, and [`mover::decide`] turns
//! it and the target [`Placement`] into the next idempotent admin calls; [`plan`] previews a scale
//! operation by running the same mover on a simulated cluster ([`simulate`]). The node uses
//! [`key_slot`] and [`PartitionCount::partition_of`] to route a key to its partition.

pub mod health;
pub mod mover;
pub mod observed;
pub mod partition;
pub mod placement;
pub mod plan;
pub mod simulate;
pub mod slot;

pub use health::{Health, health, name_partitions};
pub use mover::{Action, Blocked, Decision, MoveView, Options, decide};
pub use observed::{ObservedCluster, ObservedGroup, ObservedMember, ObservedReplica};
pub use partition::{DEFAULT_PARTITIONS, InvalidPartitionCount, PartitionCount, PartitionId};
pub use placement::{MemberId, Placement, PlacementError, PlacementSpec};
pub use plan::{MoveStep, Plan, PlanError, ReplicaMove, plan};
pub use slot::{SLOT_COUNT, Slot, crc16_xmodem, hash_tag, key_slot};
