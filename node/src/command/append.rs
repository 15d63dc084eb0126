//! APPEND key value

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{WriteKind, WriteOutcome};

pub fn append(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let outcome = context.apply(WriteKind::Append {
        key: args[1].clone(),
        suffix: args[2].clone(),
    })?;
    if let WriteOutcome::Length(length) = outcome {
        out.integer(length as i64);
    }
    Ok(())
}
