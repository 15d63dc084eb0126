//! STRLEN key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn strlen(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let key = &args[1];
    let now = context.now_ms;
    let length = context.shared.keyspace.with_key(key, |store| {
        store.get(key, now).map_or(0, |e| e.value().len())
    });
    out.integer(length as i64);
    Ok(())
}
