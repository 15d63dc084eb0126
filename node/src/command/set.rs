//! SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
//! PXAT unix-time-milliseconds | KEEPTTL]

use bytes::Bytes;

use super::expire::{TimeUnit, absolute_expiry};
use super::{CommandError, CommandResult, Context, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::{SetCondition, SetExpiry, WriteKind, WriteOutcome};

pub fn set(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
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
                let at = absolute_expiry(value, unit, relative, context.now_ms)
                    .ok_or(CommandError::InvalidExpire("set"))?;
                expiry = SetExpiry::At(at);
                index += 1;
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    let outcome = context.apply(WriteKind::Set {
        key: args[1].clone(),
        value: args[2].clone(),
        expiry,
        condition,
        return_old,
    })?;
    if let WriteOutcome::Set { written, old } = outcome {
        if return_old {
            out.optional_bulk(old.as_deref());
        } else if written {
            out.ok();
        } else {
            out.null();
        }
    }
    Ok(())
}
