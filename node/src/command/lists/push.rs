//! LPUSH key element [element ...], RPUSH, LPUSHX, RPUSHX

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{End, ListWrite, push_at};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    key: Bytes,
    elements: Vec<Bytes>,
    end: End,
    /// LPUSHX / RPUSHX: only onto a list that exists.
    only_existing: bool,
}

fn parse_as(args: &[Bytes], end: End, only_existing: bool) -> Result<Write, CommandError> {
    Ok(Write::Lists(ListWrite::Push(Push {
        key: args[1].clone(),
        elements: args[2..].to_vec(),
        end,
        only_existing,
    })))
}

pub fn lpush(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Left, false)
}

pub fn rpush(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Right, false)
}

pub fn lpushx(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Left, true)
}

pub fn rpushx(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, End::Right, true)
}

impl Push {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The list's length after the push; 0 for LPUSHX/RPUSHX on a missing key.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let length = db.store(&self.key).update::<ListValue, _>(
            &self.key,
            now,
            !self.only_existing,
            |list| {
                for element in &self.elements {
                    push_at(list, self.end, element);
                }
                list.len()
            },
        )?;
        let Some(length) = length else {
            return Ok(Frame::Integer(0));
        };
        db.signal_list_ready(&self.key);
        Ok(Frame::Integer(length as i64))
    }
}
