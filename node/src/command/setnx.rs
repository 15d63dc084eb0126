//! SETNX key value

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{SetCondition, SetExpiry, WriteKind, WriteOutcome};

pub fn setnx(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let outcome = context.apply(WriteKind::Set {
        key: args[1].clone(),
        value: args[2].clone(),
        expiry: SetExpiry::Clear,
        condition: SetCondition::IfAbsent,
        return_old: false,
    })?;
    out.integer(i64::from(matches!(
        outcome,
        WriteOutcome::Set { written: true, .. }
    )));
    Ok(())
}
