//! LINDEX key index

use bytes::Bytes;

use super::{ListRead, resolve_index};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::types::ListValue;

#[derive(Debug)]
pub struct LIndex {
    key: Bytes,
    /// Read only once the key is known to hold a list: Redis looks the key up first, so a
    /// missing key answers nil and a string WRONGTYPE even when the index is not a number.
    index: Bytes,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Lists(ListRead::Index(LIndex {
        key: args[1].clone(),
        index: args[2].clone(),
    })))
}

impl LIndex {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(list) = store.read::<ListValue>(&self.key, now)? else {
                out.null();
                return Ok::<_, CommandError>(false);
            };
            let index = integer_arg(&self.index)?;
            out.optional_bulk(resolve_index(index, list.len()).and_then(|index| list.get(index)));
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
