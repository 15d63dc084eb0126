//! ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...];
//! ZINCRBY key increment member (ZADD INCR without options).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ZSetWrite, score_arg};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::zset::SortedSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZAdd {
    key: Bytes,
    /// (score or increment, member), in argument order.
    pairs: Vec<(f64, Bytes)>,
    /// NX: only add new members.
    only_new: bool,
    /// XX: only update existing members.
    only_existing: bool,
    /// GT: only update to a greater score.
    greater: bool,
    /// LT: only update to a lower score.
    less: bool,
    /// CH: count changed members too.
    changed: bool,
    /// INCR (and ZINCRBY): add to the score and reply with the new one.
    increment: bool,
}

pub fn zadd(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let mut command = ZAdd {
        key: args[1].clone(),
        pairs: Vec::new(),
        only_new: false,
        only_existing: false,
        greater: false,
        less: false,
        changed: false,
        increment: false,
    };
    let mut index = 2;
    while let Some(option) = args.get(index) {
        let flag = match option.to_ascii_uppercase().as_slice() {
            b"NX" => &mut command.only_new,
            b"XX" => &mut command.only_existing,
            b"GT" => &mut command.greater,
            b"LT" => &mut command.less,
            b"CH" => &mut command.changed,
            b"INCR" => &mut command.increment,
            _ => break,
        };
        *flag = true;
        index += 1;
    }
    // The checks in Redis's order (zaddGenericCommand).
    let elements = args.len() - index;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    if command.only_new && command.only_existing {
        return Err(CommandError::Message(
            "ERR XX and NX options at the same time are not compatible".to_owned(),
        ));
    }
    if (command.greater || command.less) && command.only_new || command.greater && command.less {
        return Err(CommandError::Message(
            "ERR GT, LT, and/or NX options at the same time are not compatible".to_owned(),
        ));
    }
    if command.increment && elements > 2 {
        return Err(CommandError::Message(
            "ERR INCR option supports a single increment-element pair".to_owned(),
        ));
    }
    command.pairs = args[index..]
        .chunks_exact(2)
        .map(|pair| Ok((score_arg(&pair[0])?, pair[1].clone())))
        .collect::<Result<_, CommandError>>()?;
    Ok(Write::SortedSets(ZSetWrite::Add(command)))
}

pub fn zincrby(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::SortedSets(ZSetWrite::Add(ZAdd {
        key: args[1].clone(),
        pairs: vec![(score_arg(&args[2])?, args[3].clone())],
        only_new: false,
        only_existing: false,
        greater: false,
        less: false,
        changed: false,
        increment: true,
    })))
}

/// What happened to the members.
#[derive(Default)]
struct Counts {
    added: i64,
    updated: i64,
    /// Members not skipped by NX/XX/GT/LT.
    processed: i64,
    /// The last member's resulting score (INCR's reply).
    score: f64,
}

impl ZAdd {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let create = !self.only_existing;
        let counts = db
            .store(&self.key)
            .update::<SortedSet, _>(&self.key, now, create, |zset| self.add_to(zset))?
            .transpose()?
            .unwrap_or_default();
        if counts.added > 0 {
            // Clients blocked in BZPOPMIN and kin on this key may pop now.
            db.signal_list_ready(&self.key);
        }
        Ok(if self.increment {
            if counts.processed > 0 {
                Frame::Double(counts.score)
            } else {
                Frame::Null
            }
        } else if self.changed {
            Frame::Integer(counts.added + counts.updated)
        } else {
            Frame::Integer(counts.added)
        })
    }

    /// Redis's `zsetAdd` for each pair. Fails (changing nothing: INCR has one pair) only when an
    /// increment makes NaN.
    fn add_to(&self, zset: &mut SortedSet) -> Result<Counts, CommandError> {
        let mut counts = Counts::default();
        for (given, member) in &self.pairs {
            match zset.score(member) {
                Some(current) => {
                    if self.only_new {
                        continue;
                    }
                    let mut score = *given;
                    if self.increment {
                        score += current;
                        if score.is_nan() {
                            return Err(CommandError::Message(
                                "ERR resulting score is not a number (NaN)".to_owned(),
                            ));
                        }
                    }
                    if (self.less && score >= current) || (self.greater && score <= current) {
                        continue;
                    }
                    counts.processed += 1;
                    counts.score = score;
                    if score != current {
                        zset.insert(member, score);
                        counts.updated += 1;
                    }
                }
                None if !self.only_existing => {
                    zset.insert(member, *given);
                    counts.processed += 1;
                    counts.added += 1;
                    counts.score = *given;
                }
                None => {}
            }
        }
        Ok(counts)
    }
}
