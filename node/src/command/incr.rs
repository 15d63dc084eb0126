//! INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, WriteKind, WriteOp, WriteOutcome, parse_float};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncrBy {
    key: Bytes,
    delta: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncrByFloat {
    key: Bytes,
    delta: f64,
}

fn by(args: &[Bytes], delta: i64) -> Result<Write, CommandError> {
    Ok(Write::IncrBy(IncrBy {
        key: args[1].clone(),
        delta,
    }))
}

pub fn incr(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    by(args, 1)
}

pub fn decr(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    by(args, -1)
}

pub fn incrby(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    by(args, integer_arg(&args[2])?)
}

pub fn decrby(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let delta = integer_arg(&args[2])?
        .checked_neg()
        .ok_or_else(|| CommandError::Message("ERR decrement would overflow".to_owned()))?;
    by(args, delta)
}

pub fn incrbyfloat(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let delta = parse_float(&args[2]).ok_or(CommandError::NotFloat)?;
    if !delta.is_finite() {
        return Err(CommandError::Message(
            "ERR increment would produce NaN or Infinity".to_owned(),
        ));
    }
    Ok(Write::IncrByFloat(IncrByFloat {
        key: args[1].clone(),
        delta,
    }))
}

impl IncrBy {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::IncrBy {
                key: self.key.clone(),
                delta: self.delta,
            },
        };
        match db.store(&self.key).apply(op)? {
            WriteOutcome::Integer(value) => Ok(Frame::Integer(value)),
            _ => Err(CommandError::Message(
                "ERR unexpected INCR outcome".to_owned(),
            )),
        }
    }
}

impl IncrByFloat {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::IncrByFloat {
                key: self.key.clone(),
                delta: self.delta,
            },
        };
        match db.store(&self.key).apply(op)? {
            WriteOutcome::Float(text) => Ok(Frame::Bulk(text)),
            _ => Err(CommandError::Message(
                "ERR unexpected INCRBYFLOAT outcome".to_owned(),
            )),
        }
    }
}
