//! SETEX key seconds value, PSETEX key milliseconds value

use bytes::Bytes;

use super::expire::{TimeUnit, absolute_expiry};
use super::set::{Set, SetReply};
use super::{CommandError, Write, integer_arg};
use crate::store::{SetCondition, SetExpiry};

fn parse_in(
    args: &[Bytes],
    now_ms: u64,
    unit: TimeUnit,
    name: &'static str,
) -> Result<Write, CommandError> {
    let amount = integer_arg(&args[2])?;
    if amount <= 0 {
        return Err(CommandError::InvalidExpire(name));
    }
    let at =
        absolute_expiry(amount, unit, true, now_ms).ok_or(CommandError::InvalidExpire(name))?;
    Ok(Write::Set(Set {
        key: args[1].clone(),
        value: args[3].clone(),
        expiry: SetExpiry::At(at),
        condition: SetCondition::Always,
        reply: SetReply::Status,
    }))
}

pub fn setex(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_in(args, now_ms, TimeUnit::Seconds, "setex")
}

pub fn psetex(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    parse_in(args, now_ms, TimeUnit::Milliseconds, "psetex")
}
