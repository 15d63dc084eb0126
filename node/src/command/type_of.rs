//! TYPE key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn type_of(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let key = &args[1];
    let now = context.now_ms;
    let exists = context
        .shared
        .keyspace
        .with_key(key, |store| store.peek(key, now).is_some());
    out.simple(if exists { "string" } else { "none" });
    Ok(())
}
