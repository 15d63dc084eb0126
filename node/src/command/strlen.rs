//! STRLEN key

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct StrLen {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::StrLen(StrLen {
        key: args[1].clone(),
    }))
}

impl StrLen {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let length = context.keyspace.with_key(&self.key, |store| {
            store
                .get(&self.key, now)
                .map(|entry| entry.string().map(<[u8]>::len))
                .transpose()
        })?;
        context.stats.hit_or_miss(length.is_some());
        let length = length.unwrap_or(0);
        out.integer(length as i64);
        Ok(())
    }
}
