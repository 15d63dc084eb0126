//! [`Read`]: every read command, parsed. A read runs where the client's request is served (the
//! partition leader after a confirmed read, or any replica for a `READONLY` client) and writes its
//! reply straight into the output buffer, copying values once.

use super::{CommandResult, Keys, ReadContext};
use super::{dbsize, exists, get, keys, mget, scan, strlen, ttl, type_of};
use crate::protocol::ReplyWriter;

macro_rules! reads {
    ($($variant:ident($command:ty),)*) => {
        /// A parsed read command.
        #[derive(Debug)]
        pub enum Read {
            $($variant($command),)*
        }

        impl Read {
            /// The keys it reads (routing and `-CROSSSLOT`).
            pub fn keys(&self) -> Keys<'_> {
                match self {
                    $(Read::$variant(command) => command.keys(),)*
                }
            }

            pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
                match self {
                    $(Read::$variant(command) => command.run(context, out),)*
                }
            }
        }
    };
}

reads! {
    Get(get::Get),
    MGet(mget::MGet),
    StrLen(strlen::StrLen),
    Exists(exists::Exists),
    Type(type_of::TypeOf),
    Ttl(ttl::Ttl),
    Keys(keys::KeysMatching),
    Scan(scan::Scan),
    DbSize(dbsize::DbSize),
}
