//! SRANDMEMBER key [count]

use bytes::Bytes;

use super::SetRead;
use crate::command::hashes::{MAX_REPEATED_PICKS, call_rng, count_arg, too_many_picks};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::types::SetValue;

#[derive(Debug)]
pub struct SRandMember {
    key: Bytes,
    /// `None`: one member as a bulk string (or nil).
    count: Option<i64>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = args.get(2).map(|count| count_arg(count)).transpose()?;
    if count.is_some_and(|count| count < -MAX_REPEATED_PICKS) {
        return Err(too_many_picks());
    }
    Ok(Read::Sets(SetRead::SRandMember(SRandMember {
        key: args[1].clone(),
        count,
    })))
}

impl SRandMember {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// With a count, an array (in RESP3 too, as Redis): distinct members when the count is
    /// positive (at most all of them), `-count` independent picks when it is negative.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let mut rng = call_rng();
        let found = context.keyspace.with_key(&self.key, |store| {
            let set = store.read::<SetValue>(&self.key, now)?;
            let Some(count) = self.count else {
                out.optional_bulk(set.and_then(|set| set.random(&mut rng)));
                return Ok::<_, CommandError>(set.is_some());
            };
            match set {
                None => out.array_header(0),
                Some(set) if count >= 0 => {
                    let picks = set.random_distinct(count as usize, &mut rng);
                    out.array_header(picks.len());
                    for member in picks {
                        out.bulk(member);
                    }
                }
                Some(set) => {
                    // Written as picked: no list of up to MAX_REPEATED_PICKS is built.
                    let picks = count.unsigned_abs() as usize;
                    out.array_header(picks);
                    for _ in 0..picks {
                        if let Some(member) = set.random(&mut rng) {
                            out.bulk(member);
                        }
                    }
                }
            }
            Ok(set.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
