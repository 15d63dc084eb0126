//! HLEN key

use bytes::Bytes;

use super::HashRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::HashValue;

#[derive(Debug)]
pub struct HLen {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Hashes(HashRead::Len(HLen {
        key: args[1].clone(),
    })))
}

impl HLen {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let length = context.keyspace.with_key(&self.key, |store| {
            store
                .read::<HashValue>(&self.key, now)
                .map(|hash| hash.map(HashValue::len))
        })?;
        context.stats.hit_or_miss(length.is_some());
        out.integer(length.unwrap_or(0) as i64);
        Ok(())
    }
}
