//! INCR key, DECR key, INCRBY key increment, DECRBY key decrement, INCRBYFLOAT key increment

use bytes::Bytes;

use super::{CommandError, CommandResult, Context, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::{WriteKind, WriteOutcome, parse_float};

fn add(context: &mut Context<'_>, key: &Bytes, delta: i64, out: &mut ReplyWriter) -> CommandResult {
    if let WriteOutcome::Integer(value) = context.apply(WriteKind::IncrBy {
        key: key.clone(),
        delta,
    })? {
        out.integer(value);
    }
    Ok(())
}

pub fn incr(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    add(context, &args[1], 1, out)
}

pub fn decr(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    add(context, &args[1], -1, out)
}

pub fn incrby(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let delta = integer_arg(&args[2])?;
    add(context, &args[1], delta, out)
}

pub fn decrby(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let delta = integer_arg(&args[2])?;
    let delta = delta
        .checked_neg()
        .ok_or_else(|| CommandError::Message("ERR decrement would overflow".to_owned()))?;
    add(context, &args[1], delta, out)
}

pub fn incrbyfloat(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    let delta = parse_float(&args[2]).ok_or(CommandError::NotFloat)?;
    if !delta.is_finite() {
        return Err(CommandError::Message(
            "ERR increment would produce NaN or Infinity".to_owned(),
        ));
    }
    if let WriteOutcome::Float(text) = context.apply(WriteKind::IncrByFloat {
        key: args[1].clone(),
        delta,
    })? {
        out.bulk(&text);
    }
    Ok(())
}
