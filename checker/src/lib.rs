//! A linearizability checker for histories of Redis-style operations on keys: reads (`GET`), writes
//! (`SET`, `DEL`) and counters (`INCRBY`, `INCR`). The multi-process and end-to-end tests of ringcache
//! use it to prove that no acknowledged write is lost, no increment lost or applied twice, and no read
//! stale; `ringcache-check HISTORY.jsonl` checks a history [file](write_history).
//!
//! A history is what clients saw: for each operation, when it was invoked, when it completed (or that
//! its outcome is unknown: a timeout, a lost connection) and what it returned. The history is
//! linearizable if every operation can be placed at one instant between its invocation and completion so
//! that the sequence behaves like a single register per key; an operation of unknown outcome may be
//! placed at any instant after its invocation, or nowhere (it never took effect), but never twice. Keys
//! are independent (a history of independent registers is linearizable iff each key's is), so each key
//! is checked alone, which keeps the search small.
//!
//! # The model
//!
//! A key's value is absent, a byte string, or an integer. A write of bytes that are the canonical
//! decimal form of an `i64` ([`parse_integer`]: `"-12"`, not `"007"` or `"+1"`) writes that integer;
//! `INCRBY k n` adds `n` to an integer, or to 0 on an absent key, and replies the sum; a read of an
//! integer returns its decimal bytes. This is Redis's behaviour: `SET k 10`, `INCR k` replies 11 and
//! `GET k` then returns `"11"`. An increment of a non-integer or one that would overflow fails in Redis
//! and takes no effect: the client records it as [failed](HistoryRecorder::failed), and the model
//! never applies it.
//!
//! # The search
//!
//! Wing & Gong's, with Lowe's memoisation of (linearized set, state), as in porcupine and Knossos:
//!
//! ```text
//!  entries: call/return events of the operations with a reply, in time order, in a doubly linked list
//!  walk the list: at a call, try to linearize that operation now (the model must allow it and the
//!  (set, state) pair must be new); if so, remove its call and return and restart from the head;
//!  at the first return, the operation it closes must come before anything called later: try the
//!  operations of unknown outcome called so far, then undo the last choice
//!  done when no return is left (operations of unknown outcome have no return: they may take effect
//!  at any time after their call, or never)
//! ```
//!
//! What keeps it fast on hot keys with many concurrent and unknown-outcome operations (each rule
//! keeps at least one linearization of every linearizable history reachable, and a proptest holds
//! the search against [`brute`]):
//!
//! - A read that fits the current value is linearized at once, with no alternative tried.
//! - Operations of unknown outcome with identical steps (the same `INCR`, the same `SET` value) are
//!   interchangeable: they are used in invocation order, so "which 3 of these 40 INCRs took effect"
//!   is one count, not 40-choose-3 sets. They come in chains (at most one write, then blocks of
//!   increments in a fixed class order), never followed by a write, and only when the chain can
//!   end on a value that the next read or increment needs.
//! - A write that nothing can observe (its value is never read, and increments cannot see it) is
//!   linearized only right before another write. A write of unknown outcome that only reads can
//!   observe is dropped when no read returned its value, and must take effect before the first
//!   such read ends when it is the only write of that value.
//! - Memoisation is exact and small: the set of linearized operations with a reply is "all those
//!   returning before the first pending return, plus a bitmask of those open across it"; a node is
//!   skipped when one seen before had the same state and known set with fewer (per class)
//!   unknown-outcome operations used up, since those only ever take options away.
//!
//! The search counts its steps and gives up on a key after a budget: that key's verdict is
//! [`Verdict::Inconclusive`], never a guess, and a violation found on another key still wins.
//! Histories of 10 000 operations from 10 clients check in well under a second in a release build
//! (see `tests/scale.rs`); proving a violation on one hot key with many unknown outcomes is the
//! expensive case, since every explanation must be ruled out.
//!
//! [`brute`] is an independent brute-force checker for tiny histories; a proptest holds the search
//! against it.

pub mod brute;
mod check;
mod file;
mod history;
mod memo;
mod model;
mod prepare;
mod search;

pub use check::{DEFAULT_MAX_STEPS, Report, Verdict, check, check_report, check_with_budget};
pub use file::{
    FORMAT_VERSION, FileError, read_history, read_records, write_history, write_records,
};
pub use history::{HistoryRecorder, Operation, Pending, Record};
pub use model::parse_integer;
