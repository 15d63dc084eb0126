//! EXPIRE / PEXPIRE key amount [NX | XX | GT | LT], EXPIREAT / PEXPIREAT key unix-time [NX | XX | GT | LT]

use bytes::Bytes;

use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write, integer_arg, text};
use crate::protocol::Frame;
use crate::store::{Db, ExpireCondition, WriteKind, WriteOp, WriteOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
}

/// Converts a client-supplied expiry to absolute unix milliseconds; `None` on overflow.
pub fn absolute_expiry(amount: i64, unit: TimeUnit, relative: bool, now_ms: u64) -> Option<u64> {
    let millis = match unit {
        TimeUnit::Seconds => amount.checked_mul(1000)?,
        TimeUnit::Milliseconds => amount,
    };
    let absolute = if relative {
        millis.checked_add(i64::try_from(now_ms).ok()?)?
    } else {
        millis
    };
    // 0 means "no expiry" in the store, so a time at or before the epoch is clamped to 1 ms, which is
    // in the past and deletes the key as Redis does.
    Some(absolute.max(1) as u64)
}

fn parse_condition(options: &[Bytes]) -> Result<ExpireCondition, CommandError> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in options {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                return Err(CommandError::Message(format!(
                    "ERR Unsupported option {}",
                    text(option)
                )));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CommandError::Message(
            "ERR NX and XX, GT or LT options at the same time are not compatible".to_owned(),
        ));
    }
    if gt && lt {
        return Err(CommandError::Message(
            "ERR GT and LT options at the same time are not compatible".to_owned(),
        ));
    }
    Ok(match (nx, xx, gt, lt) {
        (true, _, _, _) => ExpireCondition::Nx,
        (_, _, true, _) => ExpireCondition::Gt, // GT already implies an existing expiry
        (_, true, _, true) => ExpireCondition::XxLt,
        (_, _, _, true) => ExpireCondition::Lt,
        (_, true, _, _) => ExpireCondition::Xx,
        _ => ExpireCondition::Always,
    })
}

/// The write that EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT and PERSIST parse into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expire {
    pub key: Bytes,
    /// Absolute unix milliseconds; 0 removes the expiry (PERSIST).
    pub at_ms: u64,
    pub condition: ExpireCondition,
}

fn parse_as(
    args: &[Bytes],
    now_ms: u64,
    unit: TimeUnit,
    relative: bool,
    name: &'static str,
) -> Result<Write, CommandError> {
    let amount = integer_arg(&args[2])?;
    let condition = parse_condition(&args[3..])?;
    let at_ms =
        absolute_expiry(amount, unit, relative, now_ms).ok_or(CommandError::InvalidExpire(name))?;
    Ok(Write::Expire(Expire {
        key: args[1].clone(),
        at_ms,
        condition,
    }))
}

pub fn expire(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, now_ms, TimeUnit::Seconds, true, "expire")
}

pub fn pexpire(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, now_ms, TimeUnit::Milliseconds, true, "pexpire")
}

pub fn expireat(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, now_ms, TimeUnit::Seconds, false, "expireat")
}

pub fn pexpireat(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, now_ms, TimeUnit::Milliseconds, false, "pexpireat")
}

impl Expire {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::Expire {
                key: self.key.clone(),
                at_ms: self.at_ms,
                condition: self.condition,
            },
        };
        let outcome = db.store(&self.key).apply(op)?;
        Ok(Frame::Integer(i64::from(matches!(
            outcome,
            WriteOutcome::ExpireUpdated(true)
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_expiry_handles_overflow_and_the_past() {
        assert_eq!(
            absolute_expiry(10, TimeUnit::Seconds, true, 1_000),
            Some(11_000)
        );
        assert_eq!(
            absolute_expiry(5, TimeUnit::Milliseconds, false, 1_000),
            Some(5)
        );
        assert_eq!(absolute_expiry(-5, TimeUnit::Seconds, true, 1_000), Some(1));
        assert_eq!(
            absolute_expiry(i64::MAX, TimeUnit::Seconds, true, 1_000),
            None
        );
        assert_eq!(
            absolute_expiry(i64::MAX, TimeUnit::Milliseconds, true, 1_000),
            None
        );
    }
}
