//! LLEN key

use bytes::Bytes;

use super::ListRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::ListValue;

#[derive(Debug)]
pub struct LLen {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Lists(ListRead::Length(LLen {
        key: args[1].clone(),
    })))
}

impl LLen {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// 0 for a missing key.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let length = context.keyspace.with_key(&self.key, |store| {
            store
                .read::<ListValue>(&self.key, now)
                .map(|list| list.map(ListValue::len))
        })?;
        context.stats.hit_or_miss(length.is_some());
        out.integer(length.unwrap_or(0) as i64);
        Ok(())
    }
}
