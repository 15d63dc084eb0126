//! DBSIZE

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn dbsize(context: &mut Context<'_>, _args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    out.integer(context.shared.keyspace.dbsize(context.now_ms) as i64);
    Ok(())
}
