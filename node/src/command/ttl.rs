//! TTL key, PTTL key, EXPIRETIME key, PEXPIRETIME key

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct Ttl {
    key: Bytes,
    milliseconds: bool,
    /// The expiry as a unix time (EXPIRETIME) instead of the time left.
    absolute: bool,
}

fn parse_as(args: &[Bytes], milliseconds: bool, absolute: bool) -> Result<Read, CommandError> {
    Ok(Read::Ttl(Ttl {
        key: args[1].clone(),
        milliseconds,
        absolute,
    }))
}

pub fn ttl(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, false, false)
}

pub fn pttl(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, true, false)
}

pub fn expiretime(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, false, true)
}

pub fn pexpiretime(args: &[Bytes]) -> Result<Read, CommandError> {
    parse_as(args, true, true)
}

impl Ttl {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// -2: no such key; -1: no expiry; otherwise remaining (or absolute) time, rounded to seconds
    /// like Redis unless in milliseconds.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let expiry = context.keyspace.with_key(&self.key, |store| {
            store.get(&self.key, now).map(|e| e.expire_at_ms())
        });
        context.stats.hit_or_miss(expiry.is_some());
        let reply = match expiry {
            None => -2,
            Some(0) => -1,
            Some(at) => {
                let value = if self.absolute {
                    at as i64
                } else {
                    (at as i64 - now as i64).max(0)
                };
                if self.milliseconds {
                    value
                } else {
                    (value + 500) / 1000
                }
            }
        };
        out.integer(reply);
        Ok(())
    }
}
