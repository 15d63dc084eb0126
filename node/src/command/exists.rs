//! EXISTS key [key ...]

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn exists(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let now = context.now_ms;
    let keyspace = &context.shared.keyspace;
    // A key named twice counts twice, as in Redis.
    let count = args[1..]
        .iter()
        .filter(|key| keyspace.with_key(key, |store| store.peek(key, now).is_some()))
        .count();
    out.integer(count as i64);
    Ok(())
}
