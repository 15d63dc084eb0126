//! LPOP key [count], RPOP key [count]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{End, ListWrite, integer_at_least, pop_at};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pop {
    key: Bytes,
    end: End,
    /// With a count the reply is an array (of up to `count` elements), without one a bulk.
    count: Option<u64>,
}

fn parse_as(args: &[Bytes], end: End, name: &str) -> Result<Write, CommandError> {
    let count = match args.len() {
        2 => None,
        3 => Some(integer_at_least(&args[2], 0, "value is out of range, must be positive")? as u64),
        _ => return Err(CommandError::WrongArity(name.to_owned())),
    };
    Ok(Write::Lists(ListWrite::Pop(Pop {
        key: args[1].clone(),
        end,
        count,
    })))
}

pub fn lpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Left, "lpop")
}

pub fn rpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Right, "rpop")
}

impl Pop {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// A missing key answers nil, or the null array when a count was given (even 0).
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let popped = db
            .store(&self.key)
            .update::<ListValue, _>(&self.key, now, false, |list| {
                let wanted = self.count.unwrap_or(1).min(list.len() as u64);
                (0..wanted)
                    .filter_map(|_| pop_at(list, self.end))
                    .map(|element| Frame::Bulk(Bytes::from(element)))
                    .collect::<Vec<_>>()
            })?;
        Ok(match (popped, self.count) {
            (None, None) => Frame::Null,
            (None, Some(_)) => Frame::NullArray,
            (Some(mut elements), None) => elements.pop().unwrap_or(Frame::Null),
            (Some(elements), Some(_)) => Frame::Array(elements),
        })
    }
}
