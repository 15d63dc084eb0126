//! TYPE key

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct TypeOf {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Type(TypeOf {
        key: args[1].clone(),
    }))
}

impl TypeOf {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let kind = context
            .keyspace
            .with_key(&self.key, |store| store.kind(&self.key, now));
        context.stats.hit_or_miss(kind.is_some());
        out.simple(kind.map_or("none", |kind| kind.name()));
        Ok(())
    }
}
