//! KEYS pattern

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct KeysMatching {
    pattern: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Keys(KeysMatching {
        pattern: args[1].clone(),
    }))
}

impl KeysMatching {
    /// Keyless: it lists the keys this process holds.
    pub fn keys(&self) -> Keys<'_> {
        Keys::None
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let keys = context.keyspace.keys(&self.pattern, context.now_ms);
        out.array_header(keys.len());
        for key in &keys {
            out.bulk(key);
        }
        Ok(())
    }
}
