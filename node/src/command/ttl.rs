//! TTL key, PTTL key, EXPIRETIME key, PEXPIRETIME key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

/// -2: no such key; -1: no expiry; otherwise remaining (or absolute) time, rounded to seconds like
/// Redis when `milliseconds` is false.
fn ttl_generic(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
    milliseconds: bool,
    absolute: bool,
) -> CommandResult {
    let key = &args[1];
    let now = context.now_ms;
    let expiry = context
        .shared
        .keyspace
        .with_key(key, |store| store.get(key, now).map(|e| e.expire_at_ms()));
    let reply = match expiry {
        None => -2,
        Some(0) => -1,
        Some(at) => {
            let value = if absolute {
                at as i64
            } else {
                (at as i64 - now as i64).max(0)
            };
            if milliseconds {
                value
            } else {
                (value + 500) / 1000
            }
        }
    };
    out.integer(reply);
    Ok(())
}

pub fn ttl(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    ttl_generic(context, args, out, false, false)
}

pub fn pttl(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    ttl_generic(context, args, out, true, false)
}

pub fn expiretime(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    ttl_generic(context, args, out, false, true)
}

pub fn pexpiretime(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    ttl_generic(context, args, out, true, true)
}
