//! GETDEL key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{DeleteReason, WriteKind, WriteOutcome};

pub fn getdel(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let outcome = context.apply(WriteKind::Delete {
        key: args[1].clone(),
        reason: DeleteReason::Command,
    })?;
    if let WriteOutcome::Deleted(removed) = outcome {
        context.stats.hit_or_miss(removed.is_some());
        out.optional_bulk(removed.as_ref().map(|entry| entry.value()));
    }
    Ok(())
}
