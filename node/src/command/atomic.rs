//! [`Atomic`]: the writes of one transaction (MULTI/EXEC) or one script, applied together as one
//! step (one Raft log entry in cluster mode), and only if the keys they were computed from still
//! hold what the computation saw.
//!
//! The commands of a transaction or script run first on a private copy of the keys they touch
//! (see `crate::transaction`); what they changed is recorded as resolved writes. Applying the
//! `Atomic` checks, on every replica alike, the digest ([`fingerprint`]) of:
//! * the keys the client `WATCH`ed: changed → the transaction is aborted (EXEC answers null);
//! * the keys the run copied: changed → a conflict, nothing is applied, the run is repeated on
//!   fresh copies (the client never sees it);
//!
//! and then applies every write in order. The outcome is one of [`Outcome`]'s codes.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::fingerprint::fingerprint;

/// A key and the digest of the value it held when it was watched or copied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    pub digest: u64,
}

/// The writes of one transaction or script and the guards they depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Atomic {
    /// Keys the client watched (a change aborts).
    pub watched: Vec<Guard>,
    /// Keys the run read or changed (a change means: run again).
    pub copied: Vec<Guard>,
    pub writes: Vec<Write>,
}

/// How applying an [`Atomic`] ended, as the integer it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A watched key changed: nothing applied.
    Aborted = 0,
    /// A copied key changed since the run: nothing applied, run again.
    Conflict = 1,
    /// Every write applied.
    Applied = 2,
}

impl Outcome {
    /// The outcome an applied `Atomic` answered (see [`Atomic::apply`]).
    pub fn of(frame: &Frame) -> Option<Outcome> {
        match frame {
            Frame::Integer(0) => Some(Outcome::Aborted),
            Frame::Integer(1) => Some(Outcome::Conflict),
            Frame::Integer(2) => Some(Outcome::Applied),
            _ => None,
        }
    }
}

impl Atomic {
    pub fn keys(&self) -> Keys<'_> {
        Keys::Many(
            self.watched
                .iter()
                .chain(&self.copied)
                .map(|guard| &guard.key[..])
                .chain(
                    self.writes
                        .iter()
                        .flat_map(|write| write.keys().iter().collect::<Vec<_>>()),
                )
                .collect(),
        )
    }

    /// Checks the guards, then applies every write. Deterministic: the digests depend only on
    /// the stores and `db.now_ms` (a key expired by then counts as absent).
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now_ms = db.now_ms;
        let unchanged = |db: &mut Db<'_>, guard: &Guard| {
            fingerprint(db.store(&guard.key).peek(&guard.key, now_ms)) == guard.digest
        };
        if !self.watched.iter().all(|guard| unchanged(db, guard)) {
            return Ok(Frame::Integer(Outcome::Aborted as i64));
        }
        if !self.copied.iter().all(|guard| unchanged(db, guard)) {
            return Ok(Frame::Integer(Outcome::Conflict as i64));
        }
        for write in &self.writes {
            // Each already ran on an identical copy: the same outcome, errors included (an
            // error changed nothing there and changes nothing here).
            let _ = write.apply(db);
        }
        Ok(Frame::Integer(Outcome::Applied as i64))
    }
}

/// The digest of `key`'s value now (for a guard taken outside a write).
pub fn digest_of(keyspace: &crate::store::Keyspace, key: &[u8], now_ms: u64) -> u64 {
    keyspace.with_key(key, |store| fingerprint(store.peek(key, now_ms)))
}

/// Keys as owned bytes (for guards).
pub fn guard(key: &Bytes, digest: u64) -> Guard {
    Guard {
        key: key.to_vec(),
        digest,
    }
}
