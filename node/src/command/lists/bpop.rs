//! BLPOP key [key ...] timeout, BRPOP key [key ...] timeout

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::blocking::{Blocking, parse_timeout};
use super::lmpop::pop_first;
use super::{End, ListWrite};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BPop {
    keys: Vec<Bytes>,
    end: End,
    /// Milliseconds to wait for an element (0: forever).
    timeout_ms: u64,
}

fn parse_as(args: &[Bytes], end: End) -> Result<Write, CommandError> {
    let (timeout, keys) = args[1..].split_last().ok_or(CommandError::Syntax)?;
    Ok(Write::Lists(ListWrite::BlockingPop(BPop {
        keys: keys.to_vec(),
        end,
        timeout_ms: parse_timeout(timeout)?,
    })))
}

pub fn blpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Left)
}

pub fn brpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Right)
}

impl BPop {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn blocking(&self) -> Blocking<'_> {
        Blocking::new(&self.keys, self.timeout_ms)
    }

    /// One attempt: `[key, element]` from the first key holding a list, the null array when
    /// none does (the executor then waits).
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        Ok(match pop_first(db, &self.keys, self.end, 1)? {
            Some((key, mut elements)) => match elements.pop() {
                Some(element) => Frame::Array(vec![Frame::Bulk(key), element]),
                None => Frame::NullArray,
            },
            None => Frame::NullArray,
        })
    }
}
