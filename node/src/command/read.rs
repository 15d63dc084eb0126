//! [`Read`]: every read command, parsed. A read runs where the client's request is served (the
//! partition leader after a confirmed read, or any replica for a `READONLY` client) and writes its
//! reply straight into the output buffer, copying values once.

use super::{dbsize, exists, get, keys, mget, scan, strlen, ttl, type_of};

/// Declares an enum of read commands with `keys` and `run` dispatched to each command's own
/// methods (used here and by each family of types).
macro_rules! reads {
    ($name:ident { $($variant:ident($command:ty),)* }) => {
        /// A parsed read command.
        #[derive(Debug)]
        pub enum $name {
            $($variant($command),)*
        }

        impl $name {
            /// The keys it reads (routing and `-CROSSSLOT`).
            pub fn keys(&self) -> $crate::command::Keys<'_> {
                match *self {
                    $($name::$variant(ref command) => command.keys(),)*
                }
            }

            // A family with no command yet uses neither argument.
            #[allow(unused_variables)]
            pub fn run(
                &self,
                context: &mut $crate::command::ReadContext<'_>,
                out: &mut $crate::protocol::ReplyWriter,
            ) -> $crate::command::CommandResult {
                match *self {
                    $($name::$variant(ref command) => command.run(context, out),)*
                }
            }
        }
    };
}

pub(crate) use reads;

reads! { Read {
    Get(get::Get),
    MGet(mget::MGet),
    StrLen(strlen::StrLen),
    Exists(exists::Exists),
    Type(type_of::TypeOf),
    Ttl(ttl::Ttl),
    Keys(keys::KeysMatching),
    Scan(scan::Scan),
    DbSize(dbsize::DbSize),
    Hashes(super::hashes::HashRead),
    Lists(super::lists::ListRead),
    Sets(super::sets::SetRead),
    SortedSets(super::sorted_sets::ZSetRead),
    Keyspace(super::keyspace::KeyspaceRead),
    Bits(super::bits::BitsRead),
}}
