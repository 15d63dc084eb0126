//! The set commands: one file per command (close variants share one), a variant in the enums
//! below and an entry in [`COMMANDS`].

mod sadd;
mod sismember;
mod smembers;
mod smove;
mod spop;
mod srandmember;
mod sscan;
mod store_ops;

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{DELF, R, RF, W, WF};

reads! { SetRead {
    SIsMember(sismember::SIsMember),
    SMembers(smembers::SMembers),
    SRandMember(srandmember::SRandMember),
    SScan(sscan::SScan),
    SetOp(store_ops::SetOpRead),
    SInterCard(store_ops::SInterCard),
}}

// Only ever append variants: the enum is stored in the Raft log.
writes! { SetWrite {
    SAdd(sadd::SAdd),
    SRem(sadd::SRem),
    SPop(spop::SPop),
    SPopChosen(spop::SPopChosen),
    SMove(smove::SMove),
    SetOpStore(store_ops::SetOpStore),
}}

/// Keys after a numkeys argument.
const MOVABLE: crate::command::Flags = crate::command::Flags::MOVABLE_KEYS;

crate::command::table::commands! { COMMANDS;
    "sadd", -3, WF, (1, 1, 1), "set", "1.0.0", Write(sadd::sadd),
        "Adds one or more members to a set. Creates the key if it doesn't exist.";
    "srem", -3, DELF, (1, 1, 1), "set", "1.0.0", Write(sadd::srem),
        "Removes one or more members from a set. Deletes the set if the last member was removed.";
    "sismember", 3, RF, (1, 1, 1), "set", "1.0.0", Read(sismember::sismember),
        "Determines whether a member belongs to a set.";
    "smismember", -3, RF, (1, 1, 1), "set", "6.2.0", Read(sismember::smismember),
        "Determines whether multiple members belong to a set.";
    "smembers", 2, R, (1, 1, 1), "set", "1.0.0", Read(smembers::smembers),
        "Returns all members of a set.";
    "scard", 2, RF, (1, 1, 1), "set", "1.0.0", Read(smembers::scard),
        "Returns the number of members in a set.";
    "spop", -2, DELF, (1, 1, 1), "set", "1.0.0", Write(spop::parse),
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.";
    "srandmember", -2, R, (1, 1, 1), "set", "1.0.0", Read(srandmember::parse),
        "Get one or multiple random members from a set";
    "smove", 4, DELF, (1, 2, 1), "set", "1.0.0", Write(smove::parse),
        "Moves a member from one set to another.";
    "sinter", -2, R, (1, -1, 1), "set", "1.0.0", Read(store_ops::sinter),
        "Returns the intersect of multiple sets.";
    "sinterstore", -3, W, (1, -1, 1), "set", "1.0.0", Write(store_ops::sinterstore),
        "Stores the intersect of multiple sets in a key.";
    "sintercard", -3, R.union(MOVABLE), (0, 0, 0), "set", "7.0.0", Read(store_ops::sintercard),
        "Returns the number of members of the intersect of multiple sets.";
    "sunion", -2, R, (1, -1, 1), "set", "1.0.0", Read(store_ops::sunion),
        "Returns the union of multiple sets.";
    "sunionstore", -3, W, (1, -1, 1), "set", "1.0.0", Write(store_ops::sunionstore),
        "Stores the union of multiple sets in a key.";
    "sdiff", -2, R, (1, -1, 1), "set", "1.0.0", Read(store_ops::sdiff),
        "Returns the difference of multiple sets.";
    "sdiffstore", -3, W, (1, -1, 1), "set", "1.0.0", Write(store_ops::sdiffstore),
        "Stores the difference of multiple sets in a key.";
    "sscan", -3, R, (1, 1, 1), "set", "2.0.0", Read(sscan::parse),
        "Iterates over members of a set.";
}

impl SetWrite {
    /// See [`crate::command::Write::resolve`]: SPOP decides its members here, on the set the
    /// keyspace holds now, and becomes [`spop::SPopChosen`], which every replica applies alike.
    pub fn resolve(self, keyspace: &crate::store::Keyspace, now_ms: u64) -> SetWrite {
        match self {
            SetWrite::SPop(pop) => pop.resolve(keyspace, now_ms),
            other => other,
        }
    }
}
