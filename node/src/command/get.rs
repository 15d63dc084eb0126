//! GET key

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::WrongType;

#[derive(Debug)]
pub struct Get {
    key: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Get(Get {
        key: args[1].clone(),
    }))
}

impl Get {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        // The value is copied into the reply while the shard lock is held: no intermediate
        // allocation.
        let hit =
            context
                .keyspace
                .with_key(&self.key, |store| match store.get(&self.key, now) {
                    Some(entry) => {
                        out.bulk(entry.string()?);
                        Ok(true)
                    }
                    None => {
                        out.null();
                        Ok::<_, WrongType>(false)
                    }
                })?;
        context.stats.hit_or_miss(hit);
        Ok(())
    }
}
