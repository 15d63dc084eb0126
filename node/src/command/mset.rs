//! MSET key value [key value ...], MSETNX key value [key value ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, SetCondition, SetExpiry, WriteKind, WriteOp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MSet {
    pairs: Vec<(Bytes, Bytes)>,
    /// MSETNX: write nothing if any key exists.
    only_if_none_exist: bool,
}

fn parse_as(args: &[Bytes], only_if_none_exist: bool, name: &str) -> Result<Write, CommandError> {
    if args.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    Ok(Write::MSet(MSet {
        pairs: args[1..]
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect(),
        only_if_none_exist,
    }))
}

pub fn mset(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, false, "mset")
}

pub fn msetnx(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, true, "msetnx")
}

impl MSet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(self.pairs.iter().map(|(key, _)| key))
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        if self.only_if_none_exist
            && self
                .pairs
                .iter()
                .any(|(key, _)| db.store(key).peek(key, now).is_some())
        {
            return Ok(Frame::Integer(0));
        }
        for (key, value) in &self.pairs {
            let kind = WriteKind::Set {
                key: key.clone(),
                value: value.clone(),
                expiry: SetExpiry::Clear,
                condition: SetCondition::Always,
                return_old: false,
            };
            // A plain SET has no error cases.
            let _ = db.store(key).apply(WriteOp { now_ms: now, kind });
        }
        Ok(if self.only_if_none_exist {
            Frame::Integer(1)
        } else {
            Frame::Ok
        })
    }
}
