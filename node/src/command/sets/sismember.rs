//! SISMEMBER key member, SMISMEMBER key member [member ...]

use bytes::Bytes;

use super::SetRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::SetValue;

#[derive(Debug)]
pub struct SIsMember {
    key: Bytes,
    members: Vec<Bytes>,
    /// SMISMEMBER: an array of answers.
    many: bool,
}

fn parse_as(args: &[Bytes], many: bool) -> Result<Read, CommandError> {
    Ok(Read::Sets(SetRead::SIsMember(SIsMember {
        key: args[1].clone(),
        members: args[2..].to_vec(),
        many,
    })))
}

pub fn sismember(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, false)
}

pub fn smismember(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, true)
}

impl SIsMember {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let set = store.read::<SetValue>(&self.key, now)?;
            if self.many {
                out.array_header(self.members.len());
            }
            for member in &self.members {
                out.integer(i64::from(set.is_some_and(|set| set.contains(member))));
            }
            Ok::<_, CommandError>(set.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
