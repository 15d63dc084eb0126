//! BITPOS key bit [start [end [BYTE | BIT]]]

use bytes::Bytes;

use super::BitsRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::bits::{self, Unit};

#[derive(Debug)]
pub struct BitPos {
    key: Bytes,
    bit: bool,
    /// The range arguments, parsed when the command runs: Redis 7.0 answers a missing key before
    /// it reads them.
    range: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let bit = match integer_arg(&args[2])? {
        0 => false,
        1 => true,
        _ => {
            return Err(CommandError::Message(
                "ERR The bit argument must be 1 or 0.".to_owned(),
            ));
        }
    };
    Ok(Read::Bits(BitsRead::BitPos(BitPos {
        key: args[1].clone(),
        bit,
        range: args[3..].to_vec(),
    })))
}

type Range = (Option<i64>, Option<i64>, Unit);

/// Start, then the unit (checked before the end, as Redis does), then the end.
fn parse_range(range: &[Bytes]) -> Result<Range, CommandError> {
    if range.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let start = range.first().map(|start| integer_arg(start)).transpose()?;
    let unit = match range.get(2) {
        Some(unit) => Unit::parse(unit).ok_or(CommandError::Syntax)?,
        None => Unit::Byte,
    };
    let end = range.get(1).map(|end| integer_arg(end)).transpose()?;
    Ok((start, end, unit))
}

impl BitPos {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// A missing key is an endless run of zero bits: -1 looking for 1, 0 looking for 0.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let (found, position) = context.keyspace.with_key(&self.key, |store| {
            let Some(entry) = store.get(&self.key, now) else {
                return Ok((false, if self.bit { -1 } else { 0 }));
            };
            let value = entry.string()?;
            let (start, end, unit) = parse_range(&self.range)?;
            Ok::<_, CommandError>((true, bits::bit_pos(value, self.bit, start, end, unit)))
        })?;
        context.stats.hit_or_miss(found);
        out.integer(position);
        Ok(())
    }
}
