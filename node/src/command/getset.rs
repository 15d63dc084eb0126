//! GETSET key value

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{SetCondition, SetExpiry, WriteKind, WriteOutcome};

pub fn getset(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let outcome = context.apply(WriteKind::Set {
        key: args[1].clone(),
        value: args[2].clone(),
        expiry: SetExpiry::Clear,
        condition: SetCondition::Always,
        return_old: true,
    })?;
    if let WriteOutcome::Set { old, .. } = outcome {
        context.stats.hit_or_miss(old.is_some());
        out.optional_bulk(old.as_deref());
    }
    Ok(())
}
