//! PING [message]

use bytes::Bytes;

use super::{CommandError, CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn ping(_context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    match args.len() {
        1 => out.simple("PONG"),
        2 => out.bulk(&args[1]),
        _ => return Err(CommandError::WrongArity("ping".to_owned())),
    }
    Ok(())
}
