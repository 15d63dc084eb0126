//! SINTER, SUNION, SDIFF key [key ...]; SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key
//! [key ...]; SINTERCARD numkeys key [key ...] [LIMIT limit]
//!
//! As Redis: a missing key is an empty set, a key of another type is WRONGTYPE (every key is
//! checked, even when the result is already known to be empty), and a *STORE destination is
//! replaced whatever it held (its TTL goes), or deleted when the result is empty.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{SetRead, SetWrite};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, Write, integer_arg};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::types::{Object, SetValue, WrongType};
use crate::store::{Db, Entry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetOp {
    Inter,
    Union,
    Diff,
}

/// Counts of the keys found and missing while computing (a read's keyspace hits and misses).
#[derive(Debug, Default)]
struct Lookups {
    hits: u64,
    misses: u64,
}

/// The result of `op` over the sets at `keys` (in order: SDIFF takes the first minus the rest).
fn compute(
    db: &mut Db<'_>,
    op: SetOp,
    keys: &[Bytes],
    lookups: &mut Lookups,
) -> Result<SetValue, WrongType> {
    let now = db.now_ms;
    // Every key is type-checked first, and its size noted (`None`: missing).
    let mut sizes = Vec::with_capacity(keys.len());
    for key in keys {
        let size = db.store(key).read::<SetValue>(key, now)?.map(SetValue::len);
        if size.is_some() {
            lookups.hits += 1;
        } else {
            lookups.misses += 1;
        }
        sizes.push(size);
    }
    let set_at = |db: &mut Db<'_>, index: usize| -> Option<SetValue> {
        let key = &keys[index];
        db.store(key)
            .read::<SetValue>(key, now)
            .ok()
            .flatten()
            .cloned()
    };
    match op {
        SetOp::Inter => {
            if sizes.iter().any(Option::is_none) {
                return Ok(SetValue::default());
            }
            // Start from the smallest set and keep what every other one holds.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|&index| sizes[index]);
            let mut result = set_at(db, order[0]).unwrap_or_default();
            for &index in &order[1..] {
                if result.is_empty() {
                    break;
                }
                let key = &keys[index];
                let Some(other) = db.store(key).read::<SetValue>(key, now)? else {
                    return Ok(SetValue::default());
                };
                let gone: Vec<Box<[u8]>> = result
                    .iter()
                    .filter(|member| !other.contains(member))
                    .map(Box::from)
                    .collect();
                for member in &gone {
                    result.remove(member);
                }
            }
            Ok(result)
        }
        SetOp::Union => {
            // Start from the largest set (one copy) and add the others.
            let largest = (0..keys.len()).max_by_key(|&index| sizes[index]);
            let mut result = largest
                .and_then(|index| set_at(db, index))
                .unwrap_or_default();
            for (index, key) in keys.iter().enumerate() {
                if Some(index) == largest || sizes[index].is_none() {
                    continue;
                }
                if let Some(other) = db.store(key).read::<SetValue>(key, now)? {
                    for member in other.iter() {
                        result.insert(member);
                    }
                }
            }
            Ok(result)
        }
        SetOp::Diff => {
            let Some(mut result) = set_at(db, 0) else {
                return Ok(SetValue::default());
            };
            for key in &keys[1..] {
                if result.is_empty() {
                    break;
                }
                let Some(other) = db.store(key).read::<SetValue>(key, now)? else {
                    continue;
                };
                // Walk the smaller of the two.
                let gone: Vec<Box<[u8]>> = if other.len() < result.len() {
                    other
                        .iter()
                        .filter(|member| result.contains(member))
                        .map(Box::from)
                        .collect()
                } else {
                    result
                        .iter()
                        .filter(|member| other.contains(member))
                        .map(Box::from)
                        .collect()
                };
                for member in &gone {
                    result.remove(member);
                }
            }
            Ok(result)
        }
    }
}

/// SINTER, SUNION, SDIFF: the members, as a set (RESP3) or an array.
#[derive(Debug)]
pub struct SetOpRead {
    op: SetOp,
    keys: Vec<Bytes>,
}

fn read_as(args: &[Bytes], op: SetOp) -> Result<Read, CommandError> {
    Ok(Read::Sets(SetRead::SetOp(SetOpRead {
        op,
        keys: args[1..].to_vec(),
    })))
}

pub fn sinter(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, SetOp::Inter)
}

pub fn sunion(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, SetOp::Union)
}

pub fn sdiff(args: &[Bytes]) -> Result<Read, CommandError> {
    read_as(args, SetOp::Diff)
}

impl SetOpRead {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let mut lookups = Lookups::default();
        let keys = &self.keys;
        let result =
            context
                .keyspace
                .with_keys(keys.iter().map(|key| &key[..]), context.now_ms, |db| {
                    compute(db, self.op, keys, &mut lookups)
                });
        context.stats.hits += lookups.hits;
        context.stats.misses += lookups.misses;
        let result = result?;
        out.set_header(result.len());
        for member in result.iter() {
            out.bulk(member);
        }
        Ok(())
    }
}

/// SINTERCARD: the size of the intersection, counting up to LIMIT (0: no limit).
#[derive(Debug)]
pub struct SInterCard {
    keys: Vec<Bytes>,
    limit: usize,
}

pub fn sintercard(args: &[Bytes]) -> Result<Read, CommandError> {
    let numkeys = integer_arg(&args[1])
        .ok()
        .filter(|&numkeys| numkeys > 0)
        .ok_or_else(|| CommandError::Message("ERR numkeys should be greater than 0".to_owned()))?;
    let available = args.len() - 2;
    if numkeys as u64 > available as u64 {
        return Err(CommandError::Message(
            "ERR Number of keys can't be greater than number of args".to_owned(),
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0;
    let mut index = 2 + numkeys;
    while index < args.len() {
        match args.get(index + 1) {
            Some(value) if args[index].eq_ignore_ascii_case(b"limit") => {
                limit = integer_arg(value)
                    .ok()
                    .filter(|&limit| limit >= 0)
                    .ok_or_else(|| {
                        CommandError::Message("ERR LIMIT can't be negative".to_owned())
                    })? as usize;
                index += 2;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(Read::Sets(SetRead::SInterCard(SInterCard {
        keys: args[2..2 + numkeys].to_vec(),
        limit,
    })))
}

impl SInterCard {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let mut lookups = Lookups::default();
        let keys = &self.keys;
        let result =
            context
                .keyspace
                .with_keys(keys.iter().map(|key| &key[..]), context.now_ms, |db| {
                    compute(db, SetOp::Inter, keys, &mut lookups)
                });
        context.stats.hits += lookups.hits;
        context.stats.misses += lookups.misses;
        let size = result?.len();
        let size = if self.limit == 0 {
            size
        } else {
            size.min(self.limit)
        };
        out.integer(size as i64);
        Ok(())
    }
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetOpStore {
    op: SetOp,
    destination: Bytes,
    sources: Vec<Bytes>,
}

fn store_as(args: &[Bytes], op: SetOp) -> Result<Write, CommandError> {
    Ok(Write::Sets(SetWrite::SetOpStore(SetOpStore {
        op,
        destination: args[1].clone(),
        sources: args[2..].to_vec(),
    })))
}

pub fn sinterstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Inter)
}

pub fn sunionstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Union)
}

pub fn sdiffstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Diff)
}

impl SetOpStore {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(std::iter::once(&self.destination).chain(&self.sources))
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let result = compute(db, self.op, &self.sources, &mut Lookups::default())?;
        let size = result.len();
        let entry = Entry::with_object(&self.destination, Object::Set(result), 0, now);
        // An empty result deletes the destination.
        db.store(&self.destination).put(entry, now);
        Ok(Frame::Integer(size as i64))
    }
}
