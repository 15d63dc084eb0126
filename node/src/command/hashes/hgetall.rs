//! HGETALL key, HKEYS key, HVALS key

use bytes::Bytes;

use super::HashRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::HashValue;

#[derive(Debug)]
pub struct HGetAll {
    key: Bytes,
    reply: AllReply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AllReply {
    /// HGETALL: a map (a flat array of fields and values in RESP2).
    Pairs,
    /// HKEYS: an array of fields.
    Fields,
    /// HVALS: an array of values.
    Values,
}

fn parse_as(args: &[Bytes], reply: AllReply) -> Result<Read, CommandError> {
    Ok(Read::Hashes(HashRead::GetAll(HGetAll {
        key: args[1].clone(),
        reply,
    })))
}

pub fn hgetall(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, AllReply::Pairs)
}

pub fn hkeys(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, AllReply::Fields)
}

pub fn hvals(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, AllReply::Values)
}

impl HGetAll {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let hash = store.read::<HashValue>(&self.key, now)?;
            let length = hash.map_or(0, HashValue::len);
            match self.reply {
                AllReply::Pairs => out.map_header(length),
                AllReply::Fields | AllReply::Values => out.array_header(length),
            }
            for (field, value) in hash.into_iter().flat_map(HashValue::iter) {
                match self.reply {
                    AllReply::Pairs => {
                        out.bulk(field);
                        out.bulk(value);
                    }
                    AllReply::Fields => out.bulk(field),
                    AllReply::Values => out.bulk(value),
                }
            }
            Ok::<_, CommandError>(hash.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
