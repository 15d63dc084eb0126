//! SETEX key seconds value, PSETEX key milliseconds value

use bytes::Bytes;

use super::expire::{TimeUnit, absolute_expiry};
use super::{CommandError, CommandResult, Context, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::{SetCondition, SetExpiry, WriteKind};

fn set_with_expiry(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
    unit: TimeUnit,
    name: &'static str,
) -> CommandResult {
    let amount = integer_arg(&args[2])?;
    if amount <= 0 {
        return Err(CommandError::InvalidExpire(name));
    }
    let at = absolute_expiry(amount, unit, true, context.now_ms)
        .ok_or(CommandError::InvalidExpire(name))?;
    context.apply(WriteKind::Set {
        key: args[1].clone(),
        value: args[3].clone(),
        expiry: SetExpiry::At(at),
        condition: SetCondition::Always,
        return_old: false,
    })?;
    out.ok();
    Ok(())
}

pub fn setex(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    set_with_expiry(context, args, out, TimeUnit::Seconds, "setex")
}

pub fn psetex(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    set_with_expiry(context, args, out, TimeUnit::Milliseconds, "psetex")
}
