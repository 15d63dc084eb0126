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

pub mod bits;
pub mod dump;
mod entry;
pub mod fingerprint;
pub mod hll;
mod keyspace;
mod op;
pub mod rdb;
mod state_machine;
pub mod types;
pub mod zset;

pub use entry::{ENTRY_OVERHEAD, Entry, estimated_size};
pub use keyspace::{Db, Keyspace, OutOfMemory, SHARDS, ScanCursor, SlotUsage, key_slot};
pub use op::{
    DeleteReason, ExpireCondition, SetCondition, SetExpiry, StoreError, WriteKind, WriteOp,
    WriteOutcome,
};
pub use state_machine::{KeyspaceSummary, MAX_STRING_LEN, Store, parse_float, parse_integer};
pub use types::{Kind, Object, ValueType, WrongType};

/// The wall clock in unix milliseconds: the only place the node reads time for keyspace decisions.
/// Shifted by [`CLOCK_OFFSET_VARIABLE`] when that is set (fault tests give a member a wrong clock).
pub fn unix_ms() -> u64 {
    (unix_micros() / 1000) as u64
}

/// Milliseconds added to this process's wall clock, for fault tests: a whole number, negative for
/// a clock behind. Unset in production. Raft timing (elections, leases) uses the monotonic clock
/// and is not affected.
pub const CLOCK_OFFSET_VARIABLE: &str = "RINGCACHE_TEST_CLOCK_OFFSET_MS";

fn clock_offset_ms() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var(CLOCK_OFFSET_VARIABLE)
            .ok()
            .and_then(|text| parse_clock_offset(&text))
            .unwrap_or(0)
    })
}

fn parse_clock_offset(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// The wall clock in unix microseconds, with the test offset (see [`unix_ms`]).
pub fn unix_micros() -> i128 {
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i128)
        .unwrap_or(0);
    (system + i128::from(clock_offset_ms()) * 1000).max(0)
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn a_clock_offset_is_a_whole_number_of_milliseconds() {
        assert_eq!(parse_clock_offset("1500"), Some(1500));
        assert_eq!(parse_clock_offset(" -30000 "), Some(-30000));
        assert_eq!(parse_clock_offset("1.5"), None);
        assert_eq!(parse_clock_offset("soon"), None);
    }

    #[test]
    fn without_an_offset_the_clock_is_the_system_clock() {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        assert!(unix_ms().abs_diff(system) < 1000);
    }
}
