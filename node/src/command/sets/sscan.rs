//! SSCAN key cursor [MATCH pattern] [COUNT count]
//!
//! The cursor and its guarantee are HSCAN's (see `command/hashes/hscan.rs`).

use bytes::Bytes;

use super::SetRead;
use crate::command::hashes::hscan::{ScanArgs, write_scan_reply};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::SetValue;

#[derive(Debug)]
pub struct SScan {
    key: Bytes,
    args: ScanArgs,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Sets(SetRead::SScan(SScan {
        key: args[1].clone(),
        args: ScanArgs::parse(args)?,
    })))
}

impl SScan {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(set) = store.read::<SetValue>(&self.key, now)? else {
                write_scan_reply(out, 0, &[]);
                return Ok::<_, CommandError>(false);
            };
            let options = self.args.options()?;
            let mut members = Vec::new();
            let next = set.scan(self.args.cursor, options.count, |member| {
                if options.matches(member) {
                    members.push(member);
                }
            });
            write_scan_reply(out, next, &members);
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
