//! LRANGE key start stop

use bytes::Bytes;

use super::{ListRead, resolve_range};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::types::ListValue;

#[derive(Debug)]
pub struct LRange {
    key: Bytes,
    start: i64,
    stop: i64,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Lists(ListRead::Range(LRange {
        key: args[1].clone(),
        start: integer_arg(&args[2])?,
        stop: integer_arg(&args[3])?,
    })))
}

impl LRange {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The elements `start..=stop` (negative indexes from the tail), copied into the reply while
    /// the shard is locked; an empty array for a missing key.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(list) = store.read::<ListValue>(&self.key, now)? else {
                out.array_header(0);
                return Ok::<_, CommandError>(false);
            };
            match resolve_range(self.start, self.stop, list.len()) {
                Some((start, stop)) => {
                    out.array_header(stop - start + 1);
                    list.range(start, stop)
                        .for_each(|element| out.bulk(element));
                }
                None => out.array_header(0),
            }
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
