//! KEYS pattern

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn keys(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let keys = context.shared.keyspace.keys(&args[1], context.now_ms);
    out.array_header(keys.len());
    for key in &keys {
        out.bulk(key);
    }
    Ok(())
}
