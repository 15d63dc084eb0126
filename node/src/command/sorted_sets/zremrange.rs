//! ZREMRANGEBYRANK key start stop; ZREMRANGEBYSCORE key min max; ZREMRANGEBYLEX key min max

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ZSetWrite, lex_range, score_range};
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::zset::{LexBound, ScoreBound, SortedSet, resolve_index_range};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZRemRange {
    key: Bytes,
    range: Range,
}

fn remove_as(args: &[Bytes], range: Range) -> Result<Write, CommandError> {
    Ok(Write::SortedSets(ZSetWrite::RemRange(ZRemRange {
        key: args[1].clone(),
        range,
    })))
}

pub fn zremrangebyrank(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let range = Range::Rank(integer_arg(&args[2])?, integer_arg(&args[3])?);
    remove_as(args, range)
}

pub fn zremrangebyscore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let (min, max) = score_range(&args[2], &args[3])?;
    remove_as(args, Range::Score(min, max))
}

pub fn zremrangebylex(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let (min, max) = lex_range(&args[2], &args[3])?;
    remove_as(args, Range::Lex(min, max))
}

impl ZRemRange {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The number of members removed; a set left empty is deleted.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let removed = db
            .store(&self.key)
            .update::<SortedSet, _>(&self.key, now, false, |zset| match &self.range {
                Range::Rank(start, stop) => match resolve_index_range(*start, *stop, zset.len()) {
                    Some((start, stop)) => zset.remove_range_by_rank(start, stop),
                    None => 0,
                },
                Range::Score(min, max) => zset.remove_range_by_score(*min, *max),
                Range::Lex(min, max) => zset.remove_range_by_lex(min, max),
            })?
            .unwrap_or(0);
        Ok(Frame::Integer(removed as i64))
    }
}
