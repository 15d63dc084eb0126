//! EXPIRE / PEXPIRE key amount [NX | XX | GT | LT], EXPIREAT / PEXPIREAT key unix-time [NX | XX | GT | LT]

use bytes::Bytes;

use super::{CommandError, CommandResult, Context, integer_arg, text};
use crate::protocol::ReplyWriter;
use crate::store::{ExpireCondition, WriteKind, WriteOutcome};

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

fn expire_generic(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
    unit: TimeUnit,
    relative: bool,
    name: &'static str,
) -> CommandResult {
    let amount = integer_arg(&args[2])?;
    let condition = parse_condition(&args[3..])?;
    let at_ms = absolute_expiry(amount, unit, relative, context.now_ms)
        .ok_or(CommandError::InvalidExpire(name))?;
    let outcome = context.apply(WriteKind::Expire {
        key: args[1].clone(),
        at_ms,
        condition,
    })?;
    out.integer(i64::from(matches!(
        outcome,
        WriteOutcome::ExpireUpdated(true)
    )));
    Ok(())
}

pub fn expire(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    expire_generic(context, args, out, TimeUnit::Seconds, true, "expire")
}

pub fn pexpire(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    expire_generic(context, args, out, TimeUnit::Milliseconds, true, "pexpire")
}

pub fn expireat(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    expire_generic(context, args, out, TimeUnit::Seconds, false, "expireat")
}

pub fn pexpireat(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    expire_generic(
        context,
        args,
        out,
        TimeUnit::Milliseconds,
        false,
        "pexpireat",
    )
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
