//! SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
//! PXAT unix-time-milliseconds | KEEPTTL]; also the write that SETNX, SETEX, PSETEX and GETSET
//! parse into.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::expire::{TimeUnit, absolute_expiry};
use super::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, SetCondition, SetExpiry, WriteKind, WriteOp, WriteOutcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Set {
    pub key: Bytes,
    pub value: Bytes,
    pub expiry: SetExpiry,
    pub condition: SetCondition,
    pub reply: SetReply,
}

/// The reply shapes of the commands that parse into [`Set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetReply {
    /// `+OK`, or nil when a condition stopped it (SET, SETEX).
    Status,
    /// 1 when written, 0 when not (SETNX).
    Written,
    /// The old value or nil (SET … GET, GETSET).
    Old,
}

pub fn parse(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    let mut condition = SetCondition::Always;
    let mut expiry = SetExpiry::Clear;
    let mut expiry_given = false;
    let mut return_old = false;
    let mut index = 3;
    while index < args.len() {
        let option = args[index].to_ascii_uppercase();
        let next = args.get(index + 1);
        match option.as_slice() {
            b"NX" if condition == SetCondition::Always => condition = SetCondition::IfAbsent,
            b"XX" if condition == SetCondition::Always => condition = SetCondition::IfPresent,
            b"GET" if !return_old => return_old = true,
            b"KEEPTTL" if !expiry_given => {
                expiry_given = true;
                expiry = SetExpiry::Keep;
            }
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if !expiry_given && next.is_some() => {
                expiry_given = true;
                let value = integer_arg(next.map(|arg| &arg[..]).unwrap_or_default())?;
                let (unit, relative) = match option.as_slice() {
                    b"EX" => (TimeUnit::Seconds, true),
                    b"PX" => (TimeUnit::Milliseconds, true),
                    b"EXAT" => (TimeUnit::Seconds, false),
                    _ => (TimeUnit::Milliseconds, false),
                };
                if value <= 0 {
                    return Err(CommandError::InvalidExpire("set"));
                }
                let at = absolute_expiry(value, unit, relative, now_ms)
                    .ok_or(CommandError::InvalidExpire("set"))?;
                expiry = SetExpiry::At(at);
                index += 1;
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    Ok(Write::Set(Set {
        key: args[1].clone(),
        value: args[2].clone(),
        expiry,
        condition,
        reply: if return_old {
            SetReply::Old
        } else {
            SetReply::Status
        },
    }))
}

impl Set {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::Set {
                key: self.key.clone(),
                value: self.value.clone(),
                expiry: self.expiry,
                condition: self.condition,
                return_old: self.reply == SetReply::Old,
            },
        };
        let WriteOutcome::Set { written, old } = db.store(&self.key).apply(op)? else {
            return Err(CommandError::Message(
                "ERR unexpected SET outcome".to_owned(),
            ));
        };
        Ok(match self.reply {
            SetReply::Old => old.map_or(Frame::Null, Frame::Bulk),
            SetReply::Written => Frame::Integer(i64::from(written)),
            SetReply::Status if written => Frame::Ok,
            SetReply::Status => Frame::Null,
        })
    }
}
