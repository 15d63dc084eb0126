//! Bitmaps, HyperLogLog and the string commands that work on parts of a value: SETBIT, GETBIT,
//! BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, PFADD, PFCOUNT, PFMERGE, GETRANGE, SUBSTR,
//! SETRANGE and LCS.
//!
//! Their values are plain Redis strings (TYPE says "string", GET returns the bytes): the logic on
//! the bytes is in [`crate::store::bits`] and [`crate::store::hll`]; the commands here read a
//! string entry, compute, and write a whole new entry back. A command that changes a value in
//! place in Redis (SETBIT, BITFIELD, SETRANGE, PFADD, PFMERGE, PFCOUNT's cache) keeps the key's
//! TTL; BITOP replaces its destination and drops it.
//!
//! Where Redis looks the key up before it parses some arguments (BITCOUNT, BITPOS, LCS), the
//! command keeps those arguments and parses them in the same order when it runs, so the same
//! request gets the same error (or none) as from redis-server.

mod bitcount;
mod bitfield;
mod bitop;
mod bitpos;
mod getbit;
mod getrange;
mod lcs;
mod pfadd;
mod pfcount;
mod pfmerge;
mod setbit;
mod setrange;

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{CommandError, R, RF, W, WF};
use crate::store::hll::HllError;
use crate::store::{Store, WrongType};

reads! { BitsRead {
    GetBit(getbit::GetBit),
    BitCount(bitcount::BitCount),
    BitPos(bitpos::BitPos),
    BitFieldRo(bitfield::BitFieldRo),
    GetRange(getrange::GetRange),
    Lcs(lcs::Lcs),
}}

// Stored in the Raft log: only ever append variants.
writes! { BitsWrite {
    SetBit(setbit::SetBit),
    BitOp(bitop::BitOp),
    BitField(bitfield::BitField),
    SetRange(setrange::SetRange),
    PfAdd(pfadd::PfAdd),
    PfCount(pfcount::PfCount),
    PfMerge(pfmerge::PfMerge),
}}

// PFCOUNT: Redis reports it as `readonly` (COMMAND INFO), but with one key it may store the
// cardinality it computed into the value and propagates that change to its replicas. Here it is
// run as a write (replicated through the partition's log) so every replica holds the same bytes,
// while its flags stay what Redis reports (no denyoom, so it works over maxmemory as in Redis).
// BITFIELD is a write even with only GET subcommands, as in Redis (BITFIELD_RO is the read).
crate::command::table::commands! { COMMANDS;
    "setbit", 4, W, (1, 1, 1), "bitmap", "2.2.0", Write(setbit::parse),
        "Sets or clears the bit at offset in the string value stored at key";
    "getbit", 3, RF, (1, 1, 1), "bitmap", "2.2.0", Read(getbit::parse),
        "Returns the bit value at offset in the string value stored at key";
    "bitcount", -2, R, (1, 1, 1), "bitmap", "2.6.0", Read(bitcount::parse),
        "Count set bits in a string";
    "bitpos", -3, R, (1, 1, 1), "bitmap", "2.8.7", Read(bitpos::parse),
        "Find first bit set or clear in a string";
    "bitop", -4, W, (2, -1, 1), "bitmap", "2.6.0", Write(bitop::parse),
        "Perform bitwise operations between strings";
    "bitfield", -2, W, (1, 1, 1), "bitmap", "3.2.0", Write(bitfield::parse),
        "Perform arbitrary bitfield integer operations on strings";
    "bitfield_ro", -2, RF, (1, 1, 1), "bitmap", "6.0.0", Read(bitfield::parse_ro),
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD";
    "pfadd", -2, WF, (1, 1, 1), "hyperloglog", "2.8.9", Write(pfadd::parse),
        "Adds the specified elements to the specified HyperLogLog.";
    "pfcount", -2, R, (1, -1, 1), "hyperloglog", "2.8.9", Write(pfcount::parse),
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).";
    "pfmerge", -2, W, (1, -1, 1), "hyperloglog", "2.8.9", Write(pfmerge::parse),
        "Merge N different HyperLogLogs into a single one.";
    "getrange", 4, R, (1, 1, 1), "string", "2.4.0", Read(getrange::parse),
        "Get a substring of the string stored at a key";
    "substr", 4, R, (1, 1, 1), "string", "1.0.0", Read(getrange::parse),
        "Get a substring of the string stored at a key";
    "setrange", 4, W, (1, 1, 1), "string", "2.2.0", Write(setrange::parse),
        "Overwrite part of a string at key starting at the specified offset";
    "lcs", -3, R, (1, 2, 1), "string", "7.0.0", Read(lcs::parse),
        "Find longest common substring";
}

/// Redis's error for a bad GETBIT / SETBIT / BITFIELD offset.
const BIT_OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

fn bit_offset_error() -> CommandError {
    CommandError::Message(BIT_OFFSET_ERROR.to_owned())
}

/// The error reply for a value that is not a usable HyperLogLog.
fn hll_error(error: HllError) -> CommandError {
    CommandError::Message(error.message().to_owned())
}

/// A live string's bytes (copied, to be changed) and its expiry, for a write that changes the value
/// in place in Redis and so keeps the TTL; `None` when the key does not exist.
fn owned_string(
    store: &mut Store,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<(Vec<u8>, u64)>, WrongType> {
    match store.get(key, now_ms) {
        Some(entry) => Ok(Some((entry.string()?.to_vec(), entry.expire_at_ms()))),
        None => Ok(None),
    }
}

/// Like [`owned_string`] for keys Redis checks with `lookupKeyRead` in a loop: `Err` holds the
/// position of the first key whose value is not a string, `None` stands for a missing key.
fn strings_of(
    db: &mut crate::store::Db<'_>,
    keys: &[bytes::Bytes],
) -> (Vec<Option<Vec<u8>>>, Option<usize>) {
    let now = db.now_ms;
    let mut values = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        match db.store(key).get(key, now) {
            None => values.push(None),
            Some(entry) => match entry.string() {
                Ok(value) => values.push(Some(value.to_vec())),
                Err(WrongType) => return (values, Some(index)),
            },
        }
    }
    (values, None)
}
