//! The hash commands: one file per command (close variants share one), a variant in the enums
//! below and an entry in [`COMMANDS`].

mod hdel;
mod hget;
mod hgetall;
mod hincrby;
mod hlen;
mod hmget;
mod hrandfield;
pub(crate) mod hscan;
mod hset;
mod long_double;

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{DELF, R, RF, WF};
use crate::eviction::SampleRng;

reads! { HashRead {
    Get(hget::HGet),
    MGet(hmget::HMGet),
    Len(hlen::HLen),
    GetAll(hgetall::HGetAll),
    RandField(hrandfield::HRandField),
    Scan(hscan::HScan),
}}

// Only ever append variants: the enum is stored in the Raft log.
writes! { HashWrite {
    Set(hset::HSet),
    Del(hdel::HDel),
    IncrBy(hincrby::HIncrBy),
    IncrByFloat(hincrby::HIncrByFloat),
}}

crate::command::table::commands! { COMMANDS;
    "hset", -4, WF, (1, 1, 1), "hash", "2.0.0", Write(hset::hset),
        "Creates or modifies the value of a field in a hash.";
    "hsetnx", 4, WF, (1, 1, 1), "hash", "2.0.0", Write(hset::hsetnx),
        "Sets the value of a field in a hash only when the field doesn't exist.";
    "hmset", -4, WF, (1, 1, 1), "hash", "2.0.0", Write(hset::hmset),
        "Sets the values of multiple fields.";
    "hget", 3, RF, (1, 1, 1), "hash", "2.0.0", Read(hget::hget),
        "Returns the value of a field in a hash.";
    "hmget", -3, RF, (1, 1, 1), "hash", "2.0.0", Read(hmget::parse),
        "Returns the values of all fields in a hash.";
    "hdel", -3, DELF, (1, 1, 1), "hash", "2.0.0", Write(hdel::parse),
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.";
    "hexists", 3, RF, (1, 1, 1), "hash", "2.0.0", Read(hget::hexists),
        "Determines whether a field exists in a hash.";
    "hlen", 2, RF, (1, 1, 1), "hash", "2.0.0", Read(hlen::parse),
        "Returns the number of fields in a hash.";
    "hstrlen", 3, RF, (1, 1, 1), "hash", "3.2.0", Read(hget::hstrlen),
        "Returns the length of the value of a field.";
    "hkeys", 2, R, (1, 1, 1), "hash", "2.0.0", Read(hgetall::hkeys),
        "Returns all fields in a hash.";
    "hvals", 2, R, (1, 1, 1), "hash", "2.0.0", Read(hgetall::hvals),
        "Returns all values in a hash.";
    "hgetall", 2, R, (1, 1, 1), "hash", "2.0.0", Read(hgetall::hgetall),
        "Returns all fields and values in a hash.";
    "hincrby", 4, WF, (1, 1, 1), "hash", "2.0.0", Write(hincrby::hincrby),
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.";
    "hincrbyfloat", 4, WF, (1, 1, 1), "hash", "2.6.0", Write(hincrby::hincrbyfloat),
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.";
    "hrandfield", -2, R, (1, 1, 1), "hash", "6.2.0", Read(hrandfield::parse),
        "Returns one or more random fields from a hash.";
    "hscan", -3, R, (1, 1, 1), "hash", "2.8.0", Read(hscan::parse),
        "Iterates over fields and values of a hash.";
}

/// A random generator for one command (HRANDFIELD, SRANDMEMBER, SPOP where it is decided),
/// seeded afresh from the process's random hasher keys, which differ on every call.
pub(crate) fn call_rng() -> SampleRng {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(crate::store::unix_micros() as u128);
    SampleRng::new(hasher.finish())
}

/// Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)` error for the count of
/// HRANDFIELD and SRANDMEMBER.
pub(crate) fn count_arg(arg: &[u8]) -> Result<i64, crate::command::CommandError> {
    let count = crate::command::integer_arg(arg)?;
    if count == i64::MIN {
        return Err(crate::command::CommandError::Message(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807"
                .to_owned(),
        ));
    }
    Ok(count)
}

/// The most elements a negative count (repeats allowed) may ask for. Redis 7.0 has no bound and
/// builds the whole reply in memory (`SRANDMEMBER key -9223372036854775807` exhausts its memory);
/// this refuses counts below -2^20 instead (a reply of a million elements at most).
pub(crate) const MAX_REPEATED_PICKS: i64 = 1 << 20;

/// The error for a negative count beyond [`MAX_REPEATED_PICKS`].
pub(crate) fn too_many_picks() -> crate::command::CommandError {
    crate::command::CommandError::Message(format!(
        "ERR value is out of range, value must between -{MAX_REPEATED_PICKS} and \
         9223372036854775807"
    ))
}
