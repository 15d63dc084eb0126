//! ZREM key member [member ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ZSetWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::zset::SortedSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZRem {
    key: Bytes,
    members: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::SortedSets(ZSetWrite::Rem(ZRem {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    })))
}

impl ZRem {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The number of members removed; a set left empty is deleted.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let removed = db
            .store(&self.key)
            .update::<SortedSet, _>(&self.key, now, false, |zset| {
                self.members
                    .iter()
                    .filter(|member| zset.remove(member).is_some())
                    .count()
            })?
            .unwrap_or(0);
        Ok(Frame::Integer(removed as i64))
    }
}
