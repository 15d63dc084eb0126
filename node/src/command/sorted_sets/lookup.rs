//! ZCARD key; ZSCORE key member; ZMSCORE key member [member ...]; ZRANK key member;
//! ZREVRANK key member

use bytes::Bytes;

use super::ZSetRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;
use crate::store::zset::SortedSet;

#[derive(Debug)]
pub struct ZCard {
    key: Bytes,
}

pub fn zcard(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::Card(ZCard {
        key: args[1].clone(),
    })))
}

impl ZCard {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let len = context.keyspace.with_key(&self.key, |store| {
            store
                .read::<SortedSet>(&self.key, now)
                .map(|zset| zset.map(SortedSet::len))
        })?;
        context.stats.hit_or_miss(len.is_some());
        out.integer(len.unwrap_or(0) as i64);
        Ok(())
    }
}

/// ZSCORE (one member, a score or nil) and ZMSCORE (an array of them).
#[derive(Debug)]
pub struct ZScore {
    key: Bytes,
    members: Vec<Bytes>,
    /// ZMSCORE: an array even for one member.
    many: bool,
}

pub fn zscore(args: &[Bytes]) -> Result<Read, CommandError> {
    score_as(args, false)
}

pub fn zmscore(args: &[Bytes]) -> Result<Read, CommandError> {
    score_as(args, true)
}

fn score_as(args: &[Bytes], many: bool) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::Score(ZScore {
        key: args[1].clone(),
        members: args[2..].to_vec(),
        many,
    })))
}

impl ZScore {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let zset = store.read::<SortedSet>(&self.key, now)?;
            if self.many {
                out.array_header(self.members.len());
            }
            for member in &self.members {
                match zset.and_then(|zset| zset.score(member)) {
                    Some(score) => out.double(score),
                    None => out.null(),
                }
            }
            Ok::<_, CommandError>(zset.is_some())
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}

/// ZRANK and ZREVRANK: the member's 0-based rank, or nil.
#[derive(Debug)]
pub struct ZRank {
    key: Bytes,
    member: Bytes,
    reverse: bool,
}

pub fn zrank(args: &[Bytes]) -> Result<Read, CommandError> {
    rank_as(args, false)
}

pub fn zrevrank(args: &[Bytes]) -> Result<Read, CommandError> {
    rank_as(args, true)
}

fn rank_as(args: &[Bytes], reverse: bool) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::Rank(ZRank {
        key: args[1].clone(),
        member: args[2].clone(),
        reverse,
    })))
}

impl ZRank {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let (found, rank) = context.keyspace.with_key(&self.key, |store| {
            let zset = store.read::<SortedSet>(&self.key, now)?;
            let rank = zset.and_then(|zset| {
                let rank = zset.rank(&self.member)?;
                Some(if self.reverse {
                    zset.len() - 1 - rank
                } else {
                    rank
                })
            });
            Ok::<_, CommandError>((zset.is_some(), rank))
        })?;
        context.stats.hit_or_miss(found);
        match rank {
            Some(rank) => out.integer(rank as i64),
            None => out.null(),
        }
        Ok(())
    }
}
