//! FLUSHALL [ASYNC | SYNC], FLUSHDB [ASYNC | SYNC] (one database, so both clear everything)

use bytes::Bytes;

use super::{CommandError, CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn flush(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    match args.get(1) {
        None => {}
        Some(mode)
            if args.len() == 2
                && (mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC")) => {}
        Some(_) => return Err(CommandError::Syntax),
    }
    context.shared.keyspace.flush(context.now_ms);
    out.ok();
    Ok(())
}
