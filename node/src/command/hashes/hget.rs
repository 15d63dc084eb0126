//! HGET key field, HEXISTS key field, HSTRLEN key field

use bytes::Bytes;

use super::HashRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::HashValue;

#[derive(Debug)]
pub struct HGet {
    key: Bytes,
    field: Bytes,
    reply: FieldReply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldReply {
    /// HGET: the value or nil.
    Value,
    /// HEXISTS: 1 or 0.
    Exists,
    /// HSTRLEN: the value's length, 0 when absent.
    Length,
}

fn parse_as(args: &[Bytes], reply: FieldReply) -> Result<Read, CommandError> {
    Ok(Read::Hashes(HashRead::Get(HGet {
        key: args[1].clone(),
        field: args[2].clone(),
        reply,
    })))
}

pub fn hget(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, FieldReply::Value)
}

pub fn hexists(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, FieldReply::Exists)
}

pub fn hstrlen(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, FieldReply::Length)
}

impl HGet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let hash = store.read::<HashValue>(&self.key, now)?;
            let value = hash.and_then(|hash| hash.get(&self.field));
            match self.reply {
                FieldReply::Value => out.optional_bulk(value),
                FieldReply::Exists => out.integer(i64::from(value.is_some())),
                FieldReply::Length => out.integer(value.map_or(0, |value| value.len() as i64)),
            }
            Ok::<_, CommandError>(hash.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
