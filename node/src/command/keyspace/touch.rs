//! TOUCH key [key ...]: counts the keys that exist and records an access to each.

use bytes::Bytes;

use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

use super::KeyspaceRead;

#[derive(Debug)]
pub struct Touch {
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Keyspace(KeyspaceRead::Touch(Touch {
        keys: args[1..].to_vec(),
    })))
}

impl Touch {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let keyspace = context.keyspace;
        let touched = self
            .keys
            .iter()
            .filter(|key| keyspace.with_key(key, |store| store.get(key, now).is_some()))
            .count();
        context.stats.hits += touched as u64;
        context.stats.misses += (self.keys.len() - touched) as u64;
        out.integer(touched as i64);
        Ok(())
    }
}
