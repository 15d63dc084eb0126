//! [`Write`]: every write command, parsed. A write is applied to the stores of its keys at the
//! clock of whoever decided it, and returns its reply as a [`Frame`]. In cluster mode the leader
//! proposes it through the partition's log and every replica applies it alike; only the proposer
//! renders the reply.
//!
//! `Write` is stored in the Raft log with bincode, which numbers variants by position: append new
//! variants at the end, never reorder or remove one, and change a variant's fields only in ways
//! older entries still decode.

use serde::{Deserialize, Serialize};

use super::{CommandError, Keys};
use super::{append, del, expire, getdel, getex, incr, mset, set};
use crate::protocol::Frame;
use crate::store::Db;

macro_rules! writes {
    ($($variant:ident($command:ty),)*) => {
        /// A parsed write command.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub enum Write {
            $($variant($command),)*
        }

        impl Write {
            /// The keys it changes or reads (routing, `-CROSSSLOT`, and the shards to lock).
            pub fn keys(&self) -> Keys<'_> {
                match self {
                    $(Write::$variant(command) => command.keys(),)*
                }
            }

            /// Applies it. Deterministic: the same stores and command give the same result on
            /// every replica. On error nothing changed.
            pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
                match self {
                    $(Write::$variant(command) => command.apply(db),)*
                }
            }
        }
    };
}

writes! {
    Set(set::Set),
    GetDel(getdel::GetDel),
    GetEx(getex::GetEx),
    MSet(mset::MSet),
    Append(append::Append),
    IncrBy(incr::IncrBy),
    IncrByFloat(incr::IncrByFloat),
    Del(del::Del),
    Expire(expire::Expire),
}
