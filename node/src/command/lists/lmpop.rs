//! LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and its blocking form BLMPOP timeout
//! numkeys key [key ...] LEFT|RIGHT [COUNT count].

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::blocking::{Blocking, parse_timeout};
use super::{End, ListWrite, integer_at_least, pop_at};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LMPop {
    keys: Vec<Bytes>,
    end: End,
    count: u64,
    /// BLMPOP: milliseconds to wait for an element (0: forever).
    timeout_ms: Option<u64>,
}

/// Parses from `numkeys` at `args[numkeys_at]`, in Redis's order: numkeys, the end, COUNT.
fn parse_from(args: &[Bytes], numkeys_at: usize) -> Result<(Vec<Bytes>, End, u64), CommandError> {
    let numkeys = integer_at_least(&args[numkeys_at], 1, "numkeys should be greater than 0")?;
    let first_key = numkeys_at + 1;
    // The end must follow the keys.
    let end_at = match usize::try_from(numkeys) {
        Ok(numkeys) if numkeys < args.len() - first_key => first_key + numkeys,
        _ => return Err(CommandError::Syntax),
    };
    let end = End::parse(&args[end_at])?;
    let mut count = None;
    let mut options = args[end_at + 1..].iter();
    while let Some(option) = options.next() {
        match options.next() {
            Some(value) if count.is_none() && option.eq_ignore_ascii_case(b"count") => {
                count = Some(integer_at_least(value, 1, "count should be greater than 0")? as u64);
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok((args[first_key..end_at].to_vec(), end, count.unwrap_or(1)))
}

pub fn lmpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let (keys, end, count) = parse_from(args, 1)?;
    Ok(Write::Lists(ListWrite::MultiPop(LMPop {
        keys,
        end,
        count,
        timeout_ms: None,
    })))
}

pub fn blmpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    // Redis reads the timeout last, so numkeys, end and COUNT errors come first.
    let (keys, end, count) = parse_from(args, 2)?;
    let timeout = parse_timeout(&args[1])?;
    Ok(Write::Lists(ListWrite::MultiPop(LMPop {
        keys,
        end,
        count,
        timeout_ms: Some(timeout),
    })))
}

impl LMPop {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn blocking(&self) -> Option<Blocking<'_>> {
        Some(Blocking::new(&self.keys, self.timeout_ms?))
    }

    /// `[key, [element ...]]` from the first key holding a list; the null array when none does.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        Ok(match pop_first(db, &self.keys, self.end, self.count)? {
            Some((key, elements)) => Frame::Array(vec![Frame::Bulk(key), Frame::Array(elements)]),
            None => Frame::NullArray,
        })
    }
}

/// Pops up to `count` elements at `end` of the first of `keys` that holds a list (the key and
/// the elements, in pop order). WRONGTYPE when a key before it holds another type; `None` when
/// none exists.
pub(super) fn pop_first(
    db: &mut Db<'_>,
    keys: &[Bytes],
    end: End,
    count: u64,
) -> Result<Option<(Bytes, Vec<Frame>)>, CommandError> {
    let now = db.now_ms;
    for key in keys {
        let popped = db
            .store(key)
            .update::<ListValue, _>(key, now, false, |list| {
                let wanted = count.min(list.len() as u64);
                (0..wanted)
                    .filter_map(|_| pop_at(list, end))
                    .map(|element| Frame::Bulk(Bytes::from(element)))
                    .collect::<Vec<_>>()
            })?;
        if let Some(elements) = popped {
            return Ok(Some((key.clone(), elements)));
        }
    }
    Ok(None)
}
