//! ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES];
//! ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count];
//! ZRANGEBYSCORE / ZREVRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count];
//! ZRANGEBYLEX / ZREVRANGEBYLEX key min max [LIMIT offset count];
//! ZREVRANGE key start stop [WITHSCORES]
//!
//! All parse as Redis's `zrangeGenericCommand` does: options first (in any order), then the
//! conflicts, then the range itself; the REV forms take their range as `max min`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ZSetRead, ZSetWrite, lex_range, score_range, write_members};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, Write, integer_arg};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::zset::{Iter, LexBound, ScoreBound, SortedSet, resolve_index_range};
use crate::store::{Db, Entry, Object};

/// What selects the members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RangeBy {
    /// Ranks, negative from the end.
    Rank {
        start: i64,
        stop: i64,
    },
    Score {
        min: ScoreBound,
        max: ScoreBound,
    },
    Lex {
        min: LexBound,
        max: LexBound,
    },
}

/// A parsed range request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeSpec {
    by: RangeBy,
    /// Descending order (REV, the ZREV… commands).
    reverse: bool,
    /// LIMIT's offset (BYSCORE/BYLEX only; a negative one selects nothing, as in Redis).
    offset: i64,
    /// LIMIT's count; negative means no limit.
    limit: i64,
    with_scores: bool,
}

/// The range type a command fixes (`None`: ZRANGE/ZRANGESTORE, chosen by BYSCORE/BYLEX).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fixed {
    Rank,
    Score,
    Lex,
}

/// Redis's `zrangeGenericCommand` argument parsing. `src` is the index of the source key (min and
/// max follow it); `fixed_by`/`fixed_reverse` are what the command name fixes; `store` refuses
/// WITHSCORES (ZRANGESTORE).
fn parse_spec(
    args: &[Bytes],
    src: usize,
    fixed_by: Option<Fixed>,
    fixed_reverse: Option<bool>,
    store: bool,
) -> Result<RangeSpec, CommandError> {
    let mut by = fixed_by;
    let mut reverse = fixed_reverse;
    let (mut offset, mut limit, mut with_scores) = (0, -1, false);
    let mut index = src + 3;
    while index < args.len() {
        let left = args.len() - index - 1;
        match args[index].to_ascii_uppercase().as_slice() {
            b"WITHSCORES" if !store => with_scores = true,
            b"LIMIT" if left >= 2 => {
                offset = integer_arg(&args[index + 1])?;
                limit = integer_arg(&args[index + 2])?;
                index += 2;
            }
            b"REV" if reverse.is_none() => reverse = Some(true),
            b"BYLEX" if by.is_none() => by = Some(Fixed::Lex),
            b"BYSCORE" if by.is_none() => by = Some(Fixed::Score),
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    let reverse = reverse.unwrap_or(false);
    let by = by.unwrap_or(Fixed::Rank);
    if limit != -1 && by == Fixed::Rank {
        return Err(CommandError::Message(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .to_owned(),
        ));
    }
    if with_scores && by == Fixed::Lex {
        return Err(CommandError::Message(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX".to_owned(),
        ));
    }
    let (mut low, mut high) = (&args[src + 1], &args[src + 2]);
    if reverse && by != Fixed::Rank {
        // Given as `max min`.
        std::mem::swap(&mut low, &mut high);
    }
    let by = match by {
        Fixed::Rank => RangeBy::Rank {
            start: integer_arg(low)?,
            stop: integer_arg(high)?,
        },
        Fixed::Score => {
            let (min, max) = score_range(low, high)?;
            RangeBy::Score { min, max }
        }
        Fixed::Lex => {
            let (min, max) = lex_range(low, high)?;
            RangeBy::Lex { min, max }
        }
    };
    Ok(RangeSpec {
        by,
        reverse,
        offset,
        limit,
        with_scores,
    })
}

impl RangeSpec {
    /// The selected members, in reply order.
    fn select<'a>(&self, zset: &'a SortedSet) -> Iter<'a> {
        let nothing = || zset.range_by_rank(1, 0, false);
        let limit = usize::try_from(self.limit).ok();
        let Ok(offset) = usize::try_from(self.offset) else {
            // Redis skips "offset--" members: a negative offset skips them all.
            return nothing();
        };
        match &self.by {
            RangeBy::Rank { start, stop } => match resolve_index_range(*start, *stop, zset.len()) {
                Some((start, stop)) => zset.range_by_rank(start, stop, self.reverse),
                None => nothing(),
            },
            RangeBy::Score { min, max } => {
                zset.range_by_score(*min, *max, self.reverse, offset, limit)
            }
            RangeBy::Lex { min, max } => zset.range_by_lex(min, max, self.reverse, offset, limit),
        }
    }
}

/// The read forms.
#[derive(Debug)]
pub struct ZRange {
    key: Bytes,
    spec: RangeSpec,
}

fn read_as(args: &[Bytes], by: Option<Fixed>, reverse: Option<bool>) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::Range(ZRange {
        key: args[1].clone(),
        spec: parse_spec(args, 1, by, reverse, false)?,
    })))
}

pub fn zrange(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, None, None)
}

pub fn zrevrange(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, Some(Fixed::Rank), Some(true))
}

pub fn zrangebyscore(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, Some(Fixed::Score), Some(false))
}

pub fn zrevrangebyscore(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, Some(Fixed::Score), Some(true))
}

pub fn zrangebylex(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, Some(Fixed::Lex), Some(false))
}

pub fn zrevrangebylex(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, Some(Fixed::Lex), Some(true))
}

impl ZRange {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let zset = store.read::<SortedSet>(&self.key, now)?;
            match zset {
                Some(zset) => write_members(out, self.spec.select(zset), self.spec.with_scores),
                None => out.array_header(0),
            }
            Ok::<_, CommandError>(zset.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}

/// ZRANGESTORE: the selected members with their scores stored at `dst` (replacing whatever is
/// there, without a TTL; nothing selected deletes `dst`). Replies the number stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZRangeStore {
    dst: Bytes,
    src: Bytes,
    spec: RangeSpec,
}

pub fn zrangestore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::SortedSets(ZSetWrite::RangeStore(ZRangeStore {
        dst: args[1].clone(),
        src: args[2].clone(),
        spec: parse_spec(args, 2, None, None, true)?,
    })))
}

impl ZRangeStore {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many([&self.dst, &self.src])
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let mut result = SortedSet::new();
        if let Some(zset) = db.store(&self.src).read::<SortedSet>(&self.src, now)? {
            for (member, score) in self.spec.select(zset) {
                result.insert(member, score);
            }
        }
        let stored = result.len();
        let entry = Entry::with_object(&self.dst, Object::ZSet(result), 0, now);
        db.store(&self.dst).put(entry, now);
        if stored > 0 {
            db.signal_list_ready(&self.dst);
        }
        Ok(Frame::Integer(stored as i64))
    }
}
