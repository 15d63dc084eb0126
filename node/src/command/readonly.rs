//! READONLY, READWRITE: whether this connection accepts possibly stale reads from any replica
//! (cluster mode; in a single process every read is current anyway).

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn readonly(
    context: &mut Session<'_>,
    _args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    context.client.readonly = true;
    out.ok();
    Ok(())
}

pub fn readwrite(
    context: &mut Session<'_>,
    _args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    context.client.readonly = false;
    out.ok();
    Ok(())
}
