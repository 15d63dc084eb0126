//! The keyspace, designed as the future Raft state machine.
//!
//! * [`Store`] is one partition's state machine. Reads take the caller's clock (`now_ms`); writes are
//!   [`WriteOp`]s that carry absolute expiry times and the proposer's clock, and expiry and eviction are
//!   explicit deletes. Applying the same operations to two stores yields the same state.
//! * [`Keyspace`] is what one process serves: [`SHARDS`] stores, each behind its own
//!   `parking_lot::Mutex`. A key's shard is its Redis Cluster slot's partition (slot × SHARDS / 16384),
//!   so a shard is exactly a future Raft partition. With many shards, 50 clients on 2 cores rarely
//!   contend; locks are held for one command and never across an `.await`. Multi-key commands (MSET,
//!   MSETNX, MGET) lock the shards they touch in ascending order, which keeps them atomic and
//!   deadlock-free.
//! * Memory is a deterministic estimate (key + value length + a fixed per-entry overhead), summed
//!   into one atomic counter so the limit check on the write path costs one load.

mod entry;
mod keyspace;
mod op;
mod state_machine;

pub use entry::{ENTRY_OVERHEAD, Entry, estimated_size};
pub use keyspace::{Keyspace, MultiShard, OutOfMemory, SHARDS, ScanCursor, SlotUsage, key_slot};
pub use op::{
    DeleteReason, ExpireCondition, SetCondition, SetExpiry, StoreError, WriteKind, WriteOp,
    WriteOutcome,
};
pub use state_machine::{KeyspaceSummary, MAX_STRING_LEN, Store, parse_float, parse_integer};

/// The wall clock in unix milliseconds: the only place the node reads time for keyspace decisions.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}
