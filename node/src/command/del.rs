//! DEL key [key ...], UNLINK key [key ...]

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{DeleteReason, WriteKind, WriteOutcome};

pub fn del(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let mut deleted = 0;
    for key in &args[1..] {
        let outcome = context.apply(WriteKind::Delete {
            key: key.clone(),
            reason: DeleteReason::Command,
        })?;
        if matches!(outcome, WriteOutcome::Deleted(Some(_))) {
            deleted += 1;
        }
    }
    out.integer(deleted);
    Ok(())
}

/// UNLINK frees memory in the background in Redis; values here are small enough to free inline.
pub fn unlink(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    del(context, args, out)
}
