//! EXISTS key [key ...]

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct Exists {
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Exists(Exists {
        keys: args[1..].to_vec(),
    }))
}

impl Exists {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let keyspace = context.keyspace;
        // A key named twice counts twice, as in Redis.
        let count = self
            .keys
            .iter()
            .filter(|key| keyspace.with_key(key, |store| store.peek(key, now).is_some()))
            .count();
        // Every key looked up counts as a hit or a miss, as in Redis.
        context.stats.hits += count as u64;
        context.stats.misses += (self.keys.len() - count) as u64;
        out.integer(count as i64);
        Ok(())
    }
}
