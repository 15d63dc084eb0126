//! GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds |
//! PERSIST]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::expire::{TimeUnit, absolute_expiry};
use super::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, ExpireCondition, WriteKind, WriteOp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetEx {
    key: Bytes,
    /// None: leave the expiry alone; Some(0): PERSIST; Some(at): new absolute expiry.
    change: Option<u64>,
}

pub fn parse(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    let change = match args.len() {
        2 => None,
        3 if args[2].eq_ignore_ascii_case(b"PERSIST") => Some(0),
        4 => {
            let option = args[2].to_ascii_uppercase();
            let (unit, relative) = match option.as_slice() {
                b"EX" => (TimeUnit::Seconds, true),
                b"PX" => (TimeUnit::Milliseconds, true),
                b"EXAT" => (TimeUnit::Seconds, false),
                b"PXAT" => (TimeUnit::Milliseconds, false),
                _ => return Err(CommandError::Syntax),
            };
            let amount = integer_arg(&args[3])?;
            if amount <= 0 {
                return Err(CommandError::InvalidExpire("getex"));
            }
            Some(
                absolute_expiry(amount, unit, relative, now_ms)
                    .ok_or(CommandError::InvalidExpire("getex"))?,
            )
        }
        _ => return Err(CommandError::Syntax),
    };
    Ok(Write::GetEx(GetEx {
        key: args[1].clone(),
        change,
    }))
}

impl GetEx {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let Some(entry) = store.get(&self.key, now) else {
            return Ok(Frame::Null);
        };
        let value = Frame::Bulk(Bytes::copy_from_slice(entry.string()?));
        if let Some(at_ms) = self.change {
            let kind = WriteKind::Expire {
                key: self.key.clone(),
                at_ms,
                condition: ExpireCondition::Always,
            };
            // Cannot fail: expiry changes have no error cases.
            let _ = store.apply(WriteOp { now_ms: now, kind });
        }
        Ok(value)
    }
}
