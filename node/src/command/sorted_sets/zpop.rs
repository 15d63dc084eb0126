//! ZPOPMIN key [count]; ZPOPMAX key [count]; ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ZSetWrite, integer_at_least, pairs_frame};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::zset::SortedSet;
use crate::store::{Db, Kind, WrongType};

/// The reply shapes of Redis's `genericZpopCommand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Shape {
    /// ZPOPMIN/ZPOPMAX without a count: `[member, score]`.
    Single,
    /// With a count: pairs (flat in RESP2, nested in RESP3).
    Counted,
    /// ZMPOP: `[key, [[member, score], ...]]`, or a null array when no key holds members.
    Multi,
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`, or a null array when no key holds members.
    KeyMemberScore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZPop {
    /// Tried in order; the first that exists is popped from.
    keys: Vec<Bytes>,
    /// The highest scores (ZPOPMAX, MAX) rather than the lowest.
    max: bool,
    count: u64,
    shape: Shape,
}

fn pop_as(args: &[Bytes], max: bool) -> Result<Write, CommandError> {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let (count, shape) = match args.get(2) {
        Some(count) => (
            integer_at_least(count, 0, "value is out of range, must be positive")? as u64,
            Shape::Counted,
        ),
        None => (1, Shape::Single),
    };
    Ok(Write::SortedSets(ZSetWrite::Pop(ZPop {
        keys: vec![args[1].clone()],
        max,
        count,
        shape,
    })))
}

pub fn zpopmin(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    pop_as(args, false)
}

pub fn zpopmax(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    pop_as(args, true)
}

pub fn zmpop(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let numkeys = integer_at_least(&args[1], 1, "numkeys should be greater than 0")? as u64;
    let where_at = match usize::try_from(numkeys) {
        Ok(numkeys) if numkeys < args.len() - 2 => numkeys + 2,
        _ => return Err(CommandError::Syntax),
    };
    let max = match args[where_at].to_ascii_uppercase().as_slice() {
        b"MIN" => false,
        b"MAX" => true,
        _ => return Err(CommandError::Syntax),
    };
    let mut count = None;
    let mut index = where_at + 1;
    while index < args.len() {
        let more = index + 1 < args.len();
        if count.is_none() && more && args[index].eq_ignore_ascii_case(b"COUNT") {
            count = Some(
                integer_at_least(&args[index + 1], 1, "count should be greater than 0")? as u64,
            );
            index += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(Write::SortedSets(ZSetWrite::Pop(ZPop {
        keys: args[2..where_at].to_vec(),
        max,
        count: count.unwrap_or(1),
        shape: Shape::Multi,
    })))
}

impl ZPop {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let mut chosen = None;
        for key in &self.keys {
            match db.store(key).kind(key, now) {
                None => continue,
                Some(Kind::ZSet) => {
                    chosen = Some(key);
                    break;
                }
                Some(_) => return Err(WrongType.into()),
            }
        }
        let Some(key) = chosen else {
            return Ok(match self.shape {
                Shape::Multi | Shape::KeyMemberScore => Frame::NullArray,
                Shape::Single | Shape::Counted => Frame::Array(Vec::new()),
            });
        };
        if self.count == 0 {
            return Ok(Frame::Array(Vec::new()));
        }
        let count = usize::try_from(self.count).unwrap_or(usize::MAX);
        let popped = db
            .store(key)
            .update::<SortedSet, _>(key, now, false, |zset| zset.pop(count, self.max))?
            .unwrap_or_default();
        Ok(match self.shape {
            Shape::KeyMemberScore => Frame::Array(
                std::iter::once(Frame::Bulk(key.clone()))
                    .chain(popped.into_iter().flat_map(|(member, score)| {
                        [Frame::Bulk(member.into()), Frame::Double(score)]
                    }))
                    .collect(),
            ),
            Shape::Single => Frame::Array(
                popped
                    .into_iter()
                    .flat_map(|(member, score)| [Frame::Bulk(member.into()), Frame::Double(score)])
                    .collect(),
            ),
            Shape::Counted => pairs_frame(popped),
            Shape::Multi => Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::Array(
                    popped
                        .into_iter()
                        .map(|(member, score)| {
                            Frame::Array(vec![Frame::Bulk(member.into()), Frame::Double(score)])
                        })
                        .collect(),
                ),
            ]),
        })
    }
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout, BZMPOP timeout numkeys key [key ...] MIN | MAX
/// [COUNT count]: the pop, tried like its non-blocking form; while no key holds members, the
/// executor waits for a write to one of them or the timeout (see `crate::command::lists::Blocking`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZBlockingPop {
    pop: ZPop,
    timeout_ms: u64,
}

fn blocking_pop_as(args: &[Bytes], max: bool) -> Result<Write, CommandError> {
    let (timeout, keys) = args[1..].split_last().ok_or(CommandError::Syntax)?;
    let timeout_ms = crate::command::lists::parse_timeout(timeout)?;
    Ok(Write::SortedSets(ZSetWrite::BlockingPop(ZBlockingPop {
        pop: ZPop {
            keys: keys.to_vec(),
            max,
            count: 1,
            shape: Shape::KeyMemberScore,
        },
        timeout_ms,
    })))
}

pub fn bzpopmin(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    blocking_pop_as(args, false)
}

pub fn bzpopmax(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    blocking_pop_as(args, true)
}

pub fn bzmpop(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    let timeout_ms = crate::command::lists::parse_timeout(&args[1])?;
    // The rest reads as ZMPOP's arguments once the timeout is taken out.
    let Write::SortedSets(ZSetWrite::Pop(pop)) = zmpop(&args[1..], now_ms)? else {
        return Err(CommandError::Syntax);
    };
    Ok(Write::SortedSets(ZSetWrite::BlockingPop(ZBlockingPop {
        pop,
        timeout_ms,
    })))
}

impl ZBlockingPop {
    pub fn keys(&self) -> Keys<'_> {
        self.pop.keys()
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        self.pop.apply(db)
    }

    pub fn blocking(&self) -> crate::command::lists::Blocking<'_> {
        crate::command::lists::Blocking::new(&self.pop.keys, self.timeout_ms)
    }
}
