//! GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds |
//! PERSIST]

use bytes::Bytes;

use super::expire::{TimeUnit, absolute_expiry};
use super::{CommandError, CommandResult, Context, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::{ExpireCondition, WriteKind, WriteOp};

pub fn getex(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let now = context.now_ms;
    // None: leave the expiry alone; Some(0): PERSIST; Some(at): new absolute expiry.
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
                absolute_expiry(amount, unit, relative, now)
                    .ok_or(CommandError::InvalidExpire("getex"))?,
            )
        }
        _ => return Err(CommandError::Syntax),
    };
    let key = &args[1];
    let hit = context.shared.keyspace.with_key(key, |store| {
        let Some(entry) = store.get(key, now) else {
            out.null();
            return false;
        };
        out.bulk(entry.value());
        if let Some(at_ms) = change {
            let condition = ExpireCondition::Always;
            let kind = WriteKind::Expire {
                key: key.clone(),
                at_ms,
                condition,
            };
            // Cannot fail: expiry changes have no error cases.
            let _ = store.apply(WriteOp { now_ms: now, kind });
        }
        true
    });
    context.stats.hit_or_miss(hit);
    Ok(())
}
