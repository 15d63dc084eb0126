//! HSET key field value [field value ...], HMSET key field value [field value ...],
//! HSETNX key field value

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::HashWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::HashValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HSet {
    key: Bytes,
    pairs: Vec<(Bytes, Bytes)>,
    reply: HSetReply,
}

/// What each command answers (and HSETNX's condition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HSetReply {
    /// HSET: the number of fields added.
    Added,
    /// HMSET: `+OK`.
    Ok,
    /// HSETNX: sets only a new field; 1 when it did.
    IfAbsent,
}

fn parse_as(args: &[Bytes], reply: HSetReply, name: &str) -> Result<Write, CommandError> {
    if !args.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    Ok(Write::Hashes(HashWrite::Set(HSet {
        key: args[1].clone(),
        pairs: args[2..]
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect(),
        reply,
    })))
}

pub fn hset(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, HSetReply::Added, "hset")
}

pub fn hmset(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, HSetReply::Ok, "hmset")
}

pub fn hsetnx(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, HSetReply::IfAbsent, "hsetnx")
}

impl HSet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let only_new = self.reply == HSetReply::IfAbsent;
        let added = db
            .store(&self.key)
            .update::<HashValue, _>(&self.key, now, true, |hash| {
                self.pairs
                    .iter()
                    .filter(|(field, value)| {
                        if only_new {
                            hash.insert_if_absent(field, value)
                        } else {
                            hash.insert(field, value)
                        }
                    })
                    .count()
            })?
            .unwrap_or(0);
        Ok(match self.reply {
            HSetReply::Ok => Frame::Ok,
            HSetReply::Added | HSetReply::IfAbsent => Frame::Integer(added as i64),
        })
    }
}
