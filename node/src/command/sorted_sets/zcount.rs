//! ZCOUNT key min max; ZLEXCOUNT key min max

use bytes::Bytes;

use super::{ZSetRead, lex_range, score_range};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::zset::{LexBound, ScoreBound, SortedSet};

#[derive(Debug)]
enum Range {
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

#[derive(Debug)]
pub struct ZCount {
    key: Bytes,
    range: Range,
}

pub fn zcount(args: &[Bytes]) -> Result<Read, CommandError> {
    let (min, max) = score_range(&args[2], &args[3])?;
    Ok(Read::SortedSets(ZSetRead::Count(ZCount {
        key: args[1].clone(),
        range: Range::Score(min, max),
    })))
}

pub fn zlexcount(args: &[Bytes]) -> Result<Read, CommandError> {
    let (min, max) = lex_range(&args[2], &args[3])?;
    Ok(Read::SortedSets(ZSetRead::Count(ZCount {
        key: args[1].clone(),
        range: Range::Lex(min, max),
    })))
}

impl ZCount {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let count = context.keyspace.with_key(&self.key, |store| {
            let zset = store.read::<SortedSet>(&self.key, now)?;
            Ok::<_, CommandError>(zset.map(|zset| match &self.range {
                Range::Score(min, max) => zset.count_by_score(*min, *max),
                Range::Lex(min, max) => zset.count_by_lex(min, max),
            }))
        })?;
        context.stats.hit_or_miss(count.is_some());
        out.integer(count.unwrap_or(0) as i64);
        Ok(())
    }
}
