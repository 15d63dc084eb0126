//! Write operations: the future Raft log entries.
//!
//! Every operation is deterministic given the store state: times are absolute unix milliseconds and the
//! "now" used to decide whether a key is logically expired travels inside the operation. Expiry and
//! eviction are not side effects of time passing; they are explicit [`WriteKind::Delete`] operations
//! decided by whoever owns the clock (today this process, later the partition leader).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Entry;

/// One write, applied by [`super::Store::apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOp {
    /// The proposer's clock when the operation was created; keys whose expiry is at or before it are
    /// treated as absent.
    pub now_ms: u64,
    pub kind: WriteKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteKind {
    Set {
        key: Bytes,
        value: Bytes,
        expiry: SetExpiry,
        condition: SetCondition,
        /// Return the previous value (`SET … GET`, `GETSET`).
        return_old: bool,
    },
    Delete {
        key: Bytes,
        reason: DeleteReason,
    },
    /// Set (`at_ms > 0`) or remove (`at_ms == 0`) a key's expiry. An expiry at or before `now_ms`
    /// deletes the key, as Redis does.
    Expire {
        key: Bytes,
        at_ms: u64,
        condition: ExpireCondition,
    },
    Append {
        key: Bytes,
        suffix: Bytes,
    },
    IncrBy {
        key: Bytes,
        delta: i64,
    },
    IncrByFloat {
        key: Bytes,
        delta: f64,
    },
    /// Remove every key.
    Flush,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetExpiry {
    /// Drop any existing expiry (plain SET).
    Clear,
    /// Keep the existing expiry (`KEEPTTL`).
    Keep,
    /// Absolute unix milliseconds.
    At(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetCondition {
    Always,
    /// `NX`: only if the key does not exist.
    IfAbsent,
    /// `XX`: only if the key exists.
    IfPresent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpireCondition {
    Always,
    /// Only if the key has no expiry.
    Nx,
    /// Only if the key has an expiry.
    Xx,
    /// Only if the new expiry is later than the current one (no expiry counts as infinite).
    Gt,
    /// Only if the new expiry is earlier than the current one (no expiry counts as infinite).
    Lt,
    /// `XX LT`: only if the key has an expiry and the new one is earlier.
    XxLt,
}

/// Why a key is deleted; only statistics depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    Command,
    Expired,
    Evicted,
}

#[derive(Debug, PartialEq)]
pub enum WriteOutcome {
    Set { written: bool, old: Option<Bytes> },
    Deleted(Option<Entry>),
    ExpireUpdated(bool),
    Length(usize),
    Integer(i64),
    Float(Bytes),
    Flushed(usize),
}

/// A write rejected by the state machine; the store is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment would produce NaN or Infinity")]
    NotFinite,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    TooLarge,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
}

impl From<super::types::WrongType> for StoreError {
    fn from(_: super::types::WrongType) -> Self {
        StoreError::WrongType
    }
}
