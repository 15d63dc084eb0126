//! SMEMBERS key, SCARD key

use bytes::Bytes;

use super::SetRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::SetValue;

#[derive(Debug)]
pub struct SMembers {
    key: Bytes,
    /// SCARD: only the size.
    count_only: bool,
}

pub fn smembers(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Sets(SetRead::SMembers(SMembers {
        key: args[1].clone(),
        count_only: false,
    })))
}

pub fn scard(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Sets(SetRead::SMembers(SMembers {
        key: args[1].clone(),
        count_only: true,
    })))
}

impl SMembers {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// SMEMBERS: a set (RESP3) or an array; SCARD: an integer.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let set = store.read::<SetValue>(&self.key, now)?;
            let length = set.map_or(0, SetValue::len);
            if self.count_only {
                out.integer(length as i64);
            } else {
                out.set_header(length);
                for member in set.into_iter().flat_map(SetValue::iter) {
                    out.bulk(member);
                }
            }
            Ok::<_, CommandError>(set.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
