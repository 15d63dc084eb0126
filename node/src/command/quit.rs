//! QUIT: reply OK, then close once the reply is written.

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn quit(context: &mut Session<'_>, _args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    context.client.closing = true;
    out.ok();
    Ok(())
}
