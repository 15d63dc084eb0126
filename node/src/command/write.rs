//! [`Write`]: every write command, parsed. A write is applied to the stores of its keys at the
//! clock of whoever decided it, and returns its reply as a [`Frame`]. In cluster mode the leader
//! proposes it through the partition's log and every replica applies it alike; only the proposer
//! renders the reply.
//!
//! `Write` is stored in the Raft log with bincode, which numbers variants by position: append new
//! variants at the end, never reorder or remove one, and change a variant's fields only in ways
//! older entries still decode.

use super::{append, del, expire, getdel, getex, incr, mset, set};

/// Declares an enum of write commands with `keys`, `apply` and `resolve` dispatched to each
/// command's own methods (used here and by each family of types). Commands that need no resolving
/// are left as they are by [`Write::resolve`].
macro_rules! writes {
    ($name:ident { $($variant:ident($command:ty),)* }) => {
        /// A parsed write command.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($variant($command),)*
        }

        impl $name {
            /// The keys it changes or reads (routing, `-CROSSSLOT`, and the shards to lock).
            pub fn keys(&self) -> $crate::command::Keys<'_> {
                match *self {
                    $($name::$variant(ref command) => command.keys(),)*
                }
            }

            /// Applies it. Deterministic: the same stores and command give the same result on
            /// every replica. On error nothing changed.
            // A family with no command yet uses no argument.
            #[allow(unused_variables)]
            pub fn apply(
                &self,
                db: &mut $crate::store::Db<'_>,
            ) -> Result<$crate::protocol::Frame, $crate::command::CommandError> {
                match *self {
                    $($name::$variant(ref command) => command.apply(db),)*
                }
            }
        }
    };
}

pub(crate) use writes;

writes! { Write {
    Set(set::Set),
    GetDel(getdel::GetDel),
    GetEx(getex::GetEx),
    MSet(mset::MSet),
    Append(append::Append),
    IncrBy(incr::IncrBy),
    IncrByFloat(incr::IncrByFloat),
    Del(del::Del),
    Expire(expire::Expire),
    Hashes(super::hashes::HashWrite),
    Lists(super::lists::ListWrite),
    Sets(super::sets::SetWrite),
    SortedSets(super::sorted_sets::ZSetWrite),
    Keyspace(super::keyspace::KeyspaceWrite),
    Bits(super::bits::BitsWrite),
    Atomic(super::atomic::Atomic),
}}

impl Write {
    /// Turns a command whose effect is not decided by its arguments and the clock alone (SPOP:
    /// which members) into one that is, by deciding now on the state `keyspace` holds. Called
    /// where the write is decided (this process, or the leader before proposing), so every
    /// replica applies the same effect, as Redis replicates such commands.
    pub fn resolve(self, keyspace: &crate::store::Keyspace, now_ms: u64) -> Write {
        match self {
            Write::Sets(write) => Write::Sets(write.resolve(keyspace, now_ms)),
            other => other,
        }
    }
}
