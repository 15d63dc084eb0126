//! GETBIT key offset

use bytes::Bytes;

use super::{BitsRead, bit_offset_error};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::bits;

#[derive(Debug)]
pub struct GetBit {
    key: Bytes,
    offset: u64,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let offset = bits::parse_bit_offset(&args[2]).ok_or_else(bit_offset_error)?;
    Ok(Read::Bits(BitsRead::GetBit(GetBit {
        key: args[1].clone(),
        offset,
    })))
}

impl GetBit {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The bit, 0 past the end of the string or for a missing key.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let bit =
            context
                .keyspace
                .with_key(&self.key, |store| match store.get(&self.key, now) {
                    Some(entry) => Ok(Some(bits::get_bit(entry.string()?, self.offset))),
                    None => Ok::<_, CommandError>(None),
                })?;
        context.stats.hit_or_miss(bit.is_some());
        out.integer(i64::from(bit.unwrap_or(0)));
        Ok(())
    }
}
