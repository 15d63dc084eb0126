//! BITCOUNT key [start end [BYTE | BIT]]

use bytes::Bytes;

use super::BitsRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::bits::{self, Unit};

#[derive(Debug)]
pub struct BitCount {
    key: Bytes,
    /// The range arguments, parsed when the command runs: Redis 7.0 looks the key up first, so
    /// a missing key counts 0 and a wrong type is reported whatever they are.
    range: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Bits(BitsRead::BitCount(BitCount {
        key: args[1].clone(),
        range: args[2..].to_vec(),
    })))
}

/// A range to count in, `None` for the whole string.
type Range = Option<(i64, i64, Unit)>;

/// The range in Redis's order of checks: start, end, the shortcut for two negative indexes in
/// the wrong order (`Ok(None)`: count 0), then the unit.
fn parse_range(range: &[Bytes]) -> Result<Option<Range>, CommandError> {
    match range {
        [] => Ok(Some(None)),
        [start, end, unit @ ..] if unit.len() <= 1 => {
            let start = integer_arg(start)?;
            let end = integer_arg(end)?;
            if start < 0 && end < 0 && start > end {
                return Ok(None);
            }
            let unit = match unit.first() {
                Some(unit) => Unit::parse(unit).ok_or(CommandError::Syntax)?,
                None => Unit::Byte,
            };
            Ok(Some(Some((start, end, unit))))
        }
        _ => Err(CommandError::Syntax),
    }
}

impl BitCount {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let (found, count) = context.keyspace.with_key(&self.key, |store| {
            let Some(entry) = store.get(&self.key, now) else {
                return Ok((false, 0));
            };
            let value = entry.string()?;
            let count = match parse_range(&self.range)? {
                Some(range) => bits::bit_count(value, range),
                None => 0,
            };
            Ok::<_, CommandError>((true, count))
        })?;
        context.stats.hit_or_miss(found);
        out.integer(count as i64);
        Ok(())
    }
}
