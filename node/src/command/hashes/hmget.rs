//! HMGET key field [field ...]

use bytes::Bytes;

use super::HashRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::HashValue;

#[derive(Debug)]
pub struct HMGet {
    key: Bytes,
    fields: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Hashes(HashRead::MGet(HMGet {
        key: args[1].clone(),
        fields: args[2..].to_vec(),
    })))
}

impl HMGet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// A value or nil per field; WRONGTYPE for a key of another type (unlike MGET).
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let hash = store.read::<HashValue>(&self.key, now)?;
            out.array_header(self.fields.len());
            for field in &self.fields {
                out.optional_bulk(hash.and_then(|hash| hash.get(field)));
            }
            Ok::<_, CommandError>(hash.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
