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
        out.integer(count as i64);
        Ok(())
    }
}
