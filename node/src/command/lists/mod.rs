//! The list commands, as Redis 7.0 answers them: pushes and pops at either end, indexed access,
//! LINSERT/LREM/LTRIM/LPOS, moves between lists (LMOVE, RPOPLPUSH), LMPOP, and the blocking forms
//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP.
//!
//! A blocking command is a write like its non-blocking form plus a timeout ([`Blocking`]): its
//! `apply` is that single attempt, and answers the null array when it found nothing to pop (what
//! Redis answers when the wait times out). The executor (`executor.rs`, `cluster/dispatch.rs`)
//! makes the attempt, and while it finds nothing waits for a push to one of the watched keys
//! ([`crate::store::Db::signal_list_ready`], called below by every write that gives a list
//! elements) or for the timeout.

mod blocking;
mod bpop;
mod lindex;
mod linsert;
mod llen;
mod lmove;
mod lmpop;
mod lpos;
mod lrange;
mod lrem;
mod lset;
mod ltrim;
mod pop;
mod push;

use serde::{Deserialize, Serialize};

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{CommandError, DEL, DELF, Flags, R, RF, W, WF};
use crate::store::types::ListValue;

pub use blocking::Blocking;
pub(crate) use blocking::parse_timeout;

reads! { ListRead {
    Length(llen::LLen),
    Range(lrange::LRange),
    Index(lindex::LIndex),
    Position(lpos::LPos),
}}

// Stored in the Raft log by position: append new variants, never reorder.
writes! { ListWrite {
    Push(push::Push),
    Pop(pop::Pop),
    Set(lset::LSet),
    Insert(linsert::LInsert),
    Remove(lrem::LRem),
    Trim(ltrim::LTrim),
    Move(lmove::LMove),
    MultiPop(lmpop::LMPop),
    BlockingPop(bpop::BPop),
}}

impl ListWrite {
    /// The wait of a blocking command (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP); `None` for
    /// every other list write.
    pub fn blocking(&self) -> Option<Blocking<'_>> {
        match self {
            ListWrite::BlockingPop(command) => Some(command.blocking()),
            ListWrite::Move(command) => command.blocking(),
            ListWrite::MultiPop(command) => command.blocking(),
            _ => None,
        }
    }
}

impl crate::command::Write {
    /// The wait of a blocking list command, `None` for any other write: the executor tries it
    /// once, and while the attempt answers the null array (nothing to pop), waits for a push to
    /// one of [`Blocking::keys`] or the timeout, then tries again.
    pub fn blocking(&self) -> Option<Blocking<'_>> {
        match self {
            crate::command::Write::Lists(write) => write.blocking(),
            crate::command::Write::SortedSets(super::sorted_sets::ZSetWrite::BlockingPop(pop)) => {
                Some(pop.blocking())
            }
            _ => None,
        }
    }
}

/// BLPOP, BRPOP: Redis flags them `write noscript blocking` (no `blocking` flag here).
const BLOCKING: Flags = DEL.union(Flags::NOSCRIPT).union(Flags::BLOCKING);
/// BLMOVE, BRPOPLPUSH: `write denyoom noscript blocking`.
const BLOCKING_DENYOOM: Flags = W.union(Flags::NOSCRIPT).union(Flags::BLOCKING);

crate::command::table::commands! { COMMANDS;
    "lpush", -3, WF, (1, 1, 1), "list", "1.0.0", Write(push::lpush),
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.";
    "rpush", -3, WF, (1, 1, 1), "list", "1.0.0", Write(push::rpush),
        "Appends one or more elements to a list. Creates the key if it doesn't exist.";
    "lpushx", -3, WF, (1, 1, 1), "list", "2.2.0", Write(push::lpushx),
        "Prepends one or more elements to a list only when the list exists.";
    "rpushx", -3, WF, (1, 1, 1), "list", "2.2.0", Write(push::rpushx),
        "Appends an element to a list only when the list exists.";
    "lpop", -2, DELF, (1, 1, 1), "list", "1.0.0", Write(pop::lpop),
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.";
    "rpop", -2, DELF, (1, 1, 1), "list", "1.0.0", Write(pop::rpop),
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.";
    "llen", 2, RF, (1, 1, 1), "list", "1.0.0", Read(llen::parse),
        "Returns the length of a list.";
    "lrange", 4, R, (1, 1, 1), "list", "1.0.0", Read(lrange::parse),
        "Returns a range of elements from a list.";
    "lindex", 3, R, (1, 1, 1), "list", "1.0.0", Read(lindex::parse),
        "Returns an element from a list by its index.";
    "lset", 4, W, (1, 1, 1), "list", "1.0.0", Write(lset::parse),
        "Sets the value of an element in a list by its index.";
    "linsert", 5, W, (1, 1, 1), "list", "2.2.0", Write(linsert::parse),
        "Inserts an element before or after another element in a list.";
    "lrem", 4, DEL, (1, 1, 1), "list", "1.0.0", Write(lrem::parse),
        "Removes elements from a list. Deletes the list if the last element was removed.";
    "ltrim", 4, DEL, (1, 1, 1), "list", "1.0.0", Write(ltrim::parse),
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.";
    "lpos", -3, R, (1, 1, 1), "list", "6.0.6", Read(lpos::parse),
        "Returns the index of matching elements in a list.";
    "lmove", 5, W, (1, 2, 1), "list", "6.2.0", Write(lmove::lmove),
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.";
    "rpoplpush", 3, W, (1, 2, 1), "list", "1.2.0", Write(lmove::rpoplpush),
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.";
    "lmpop", -4, DEL.union(Flags::MOVABLE_KEYS), (0, 0, 0), "list", "7.0.0", Write(lmpop::lmpop),
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.";
    "blpop", -3, BLOCKING, (1, -2, 1), "list", "2.0.0", Write(bpop::blpop),
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.";
    "brpop", -3, BLOCKING, (1, -2, 1), "list", "2.0.0", Write(bpop::brpop),
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.";
    "blmove", 6, BLOCKING_DENYOOM, (1, 2, 1), "list", "6.2.0", Write(lmove::blmove),
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.";
    "brpoplpush", 4, BLOCKING_DENYOOM, (1, 2, 1), "list", "2.2.0", Write(lmove::brpoplpush),
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.";
    "blmpop", -5, DEL.union(Flags::BLOCKING).union(Flags::MOVABLE_KEYS), (0, 0, 0), "list", "7.0.0", Write(lmpop::blmpop),
        "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.";
}

/// An end of a list: LEFT is the head (index 0), RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// `LEFT` or `RIGHT`, in any case; anything else is a syntax error.
    fn parse(arg: &[u8]) -> Result<End, CommandError> {
        if arg.eq_ignore_ascii_case(b"left") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Ok(End::Right)
        } else {
            Err(CommandError::Syntax)
        }
    }
}

fn pop_at(list: &mut ListValue, end: End) -> Option<Box<[u8]>> {
    match end {
        End::Left => list.pop_front(),
        End::Right => list.pop_back(),
    }
}

fn push_at(list: &mut ListValue, end: End, element: &[u8]) {
    match end {
        End::Left => list.push_front(element),
        End::Right => list.push_back(element),
    }
}

/// Redis's index rules for LRANGE and LTRIM: negative indexes count from the tail, the range is
/// clamped to the list, and `None` means it selects nothing. Otherwise the inclusive
/// `(start, stop)`.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// A list index that may be negative (from the tail), as LINDEX and LSET take it: the position,
/// or `None` when outside the list.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// Redis's `getRangeLongFromObjectOrReply` with `min..=i64::MAX`: an integer, else `message`.
fn integer_at_least(arg: &[u8], min: i64, message: &str) -> Result<i64, CommandError> {
    match crate::store::parse_integer(arg) {
        Some(value) if value >= min => Ok(value),
        _ => Err(CommandError::Message(format!("ERR {message}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_redis_index_rules() {
        assert_eq!(resolve_range(0, -1, 3), Some((0, 2)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(3, 5, 3), None);
        assert_eq!(resolve_range(-1, -1, 3), Some((2, 2)));
        assert_eq!(resolve_range(-100, -50, 3), None);
        assert_eq!(resolve_range(i64::MAX, i64::MIN, 3), None);
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(resolve_range(0, -1, 0), None);
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-3, 3), Some(0));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
    }

    #[test]
    fn ends_parse_in_any_case() {
        assert_eq!(End::parse(b"LeFt").unwrap(), End::Left);
        assert_eq!(End::parse(b"RIGHT").unwrap(), End::Right);
        assert!(matches!(End::parse(b"up"), Err(CommandError::Syntax)));
    }
}
