//! PERSIST key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{ExpireCondition, WriteKind, WriteOutcome};

pub fn persist(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let outcome = context.apply(WriteKind::Expire {
        key: args[1].clone(),
        at_ms: 0,
        condition: ExpireCondition::Xx,
    })?;
    out.integer(i64::from(matches!(
        outcome,
        WriteOutcome::ExpireUpdated(true)
    )));
    Ok(())
}
