//! DUMP key: the value in Redis's serialization format (RDB version 10, as Redis 7.0 writes it),
//! so `RESTORE` on redis-server accepts it and values move between the two.

use bytes::Bytes;

use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

use super::KeyspaceRead;

#[derive(Debug)]
pub struct Dump {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Keyspace(KeyspaceRead::Dump(Dump {
        key: args[1].clone(),
    })))
}

impl Dump {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let payload = context.keyspace.with_key(&self.key, |store| {
            store.peek(&self.key, now).map(crate::store::dump::dump)
        });
        context.stats.hit_or_miss(payload.is_some());
        out.optional_bulk(payload.as_deref());
        Ok(())
    }
}
