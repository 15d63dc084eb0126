//! ZRANDMEMBER key [count [WITHSCORES]]
//!
//! A read, random on every call (it is never replicated). A positive count returns distinct
//! members (the whole set, in descending order, when it asks for at least as many as there are),
//! a negative one `-count` members that may repeat.

use std::collections::HashSet;
use std::hash::BuildHasher;

use bytes::Bytes;

use super::{ZSetRead, write_members};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::eviction::SampleRng;
use crate::protocol::ReplyWriter;
use crate::store::zset::SortedSet;

/// Most members one reply with repetitions may hold. Redis has no such limit (it would build a
/// reply of any size); past it this answers `ERR value is out of range`.
const MAX_REPEATED: u64 = 1 << 24;

#[derive(Debug)]
pub struct ZRandMember {
    key: Bytes,
    /// `None`: one member as a bulk string (or nil).
    count: Option<i64>,
    with_scores: bool,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let mut command = ZRandMember {
        key: args[1].clone(),
        count: None,
        with_scores: false,
    };
    if let Some(count) = args.get(2) {
        let count = integer_arg(count)?;
        if count == i64::MIN {
            return Err(CommandError::Message(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                    .to_owned(),
            ));
        }
        match args.get(3) {
            None => {}
            Some(option) if args.len() == 4 && option.eq_ignore_ascii_case(b"WITHSCORES") => {
                if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
                    return Err(out_of_range());
                }
                command.with_scores = true;
            }
            Some(_) => return Err(CommandError::Syntax),
        }
        command.count = Some(count);
    }
    Ok(Read::SortedSets(ZSetRead::RandMember(command)))
}

fn out_of_range() -> CommandError {
    CommandError::Message("ERR value is out of range".to_owned())
}

/// A generator seeded afresh for each call.
fn rng() -> SampleRng {
    let seed = std::collections::hash_map::RandomState::new().hash_one(crate::store::unix_micros());
    SampleRng::new(seed)
}

impl ZRandMember {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let zset = store.read::<SortedSet>(&self.key, now)?;
            match (zset, self.count) {
                (None, None) => out.null(),
                (None, Some(_)) => out.array_header(0),
                (Some(zset), None) => {
                    let picked = zset.nth(rng().below(zset.len()));
                    out.optional_bulk(picked.map(|(member, _)| member));
                }
                (Some(zset), Some(count)) => self.write_sample(zset, count, out)?,
            }
            Ok::<_, CommandError>(zset.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }

    fn write_sample(
        &self,
        zset: &SortedSet,
        count: i64,
        out: &mut ReplyWriter,
    ) -> Result<(), CommandError> {
        let len = zset.len();
        let wanted = count.unsigned_abs();
        let mut rng = rng();
        let ranks: Vec<usize> = if count < 0 {
            if wanted > MAX_REPEATED {
                return Err(out_of_range());
            }
            (0..wanted).map(|_| rng.below(len)).collect()
        } else if wanted >= len as u64 {
            // The whole set, highest score first (as Redis 7.0 replies it).
            write_members(out, zset.iter().rev(), self.with_scores);
            return Ok(());
        } else {
            let wanted = wanted as usize;
            if wanted * 3 > len {
                // Most of the set: a partial Fisher-Yates shuffle of every rank.
                let mut ranks: Vec<usize> = (0..len).collect();
                for index in 0..wanted {
                    let other = index + rng.below(len - index);
                    ranks.swap(index, other);
                }
                ranks.truncate(wanted);
                ranks
            } else {
                let mut seen = HashSet::with_capacity(wanted);
                let mut ranks = Vec::with_capacity(wanted);
                while ranks.len() < wanted {
                    let rank = rng.below(len);
                    if seen.insert(rank) {
                        ranks.push(rank);
                    }
                }
                ranks
            }
        };
        let members = ranks.iter().filter_map(|&rank| zset.nth(rank));
        // Every rank is below `len`, so none is skipped and the length is exact.
        let members: Vec<(&[u8], f64)> = members.collect();
        write_members(out, members.into_iter(), self.with_scores);
        Ok(())
    }
}
