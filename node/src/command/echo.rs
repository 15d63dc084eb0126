//! ECHO message

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn echo(_context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    out.bulk(&args[1]);
    Ok(())
}
