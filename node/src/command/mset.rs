//! MSET key value [key value ...], MSETNX key value [key value ...]

use bytes::Bytes;

use super::{CommandError, CommandResult, Context};
use crate::protocol::ReplyWriter;
use crate::store::{SetCondition, SetExpiry, WriteKind, WriteOp};

fn set_all(
    context: &mut Context<'_>,
    args: &[Bytes],
    only_if_none_exist: bool,
    name: &str,
) -> Result<bool, CommandError> {
    if args.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    let pairs = &args[1..];
    let now = context.now_ms;
    let written =
        context
            .shared
            .keyspace
            .with_keys(pairs.iter().step_by(2).map(|key| &key[..]), |shards| {
                if only_if_none_exist
                    && pairs
                        .iter()
                        .step_by(2)
                        .any(|key| shards.store(key).peek(key, now).is_some())
                {
                    return false;
                }
                for pair in pairs.chunks_exact(2) {
                    let kind = WriteKind::Set {
                        key: pair[0].clone(),
                        value: pair[1].clone(),
                        expiry: SetExpiry::Clear,
                        condition: SetCondition::Always,
                        return_old: false,
                    };
                    // A plain SET has no error cases.
                    let _ = shards.store(&pair[0]).apply(WriteOp { now_ms: now, kind });
                }
                true
            });
    Ok(written)
}

pub fn mset(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    set_all(context, args, false, "mset")?;
    out.ok();
    Ok(())
}

pub fn msetnx(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let written = set_all(context, args, true, "msetnx")?;
    out.integer(i64::from(written));
    Ok(())
}
