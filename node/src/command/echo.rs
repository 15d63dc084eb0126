//! ECHO message

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn echo(_context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    out.bulk(&args[1]);
    Ok(())
}
