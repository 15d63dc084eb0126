//! PING [message]

use bytes::Bytes;

use super::{CommandError, CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn ping(_context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    match args.len() {
        1 => out.simple("PONG"),
        2 => out.bulk(&args[1]),
        _ => return Err(CommandError::WrongArity("ping".to_owned())),
    }
    Ok(())
}
