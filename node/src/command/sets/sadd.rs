//! SADD key member [member ...], SREM key member [member ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::SetWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::SetValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SAdd {
    key: Bytes,
    members: Vec<Bytes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SRem {
    key: Bytes,
    members: Vec<Bytes>,
}

pub fn sadd(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Sets(SetWrite::SAdd(SAdd {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    })))
}

pub fn srem(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Sets(SetWrite::SRem(SRem {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    })))
}

impl SAdd {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The number of members added (an existing TTL is kept).
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let added = db
            .store(&self.key)
            .update::<SetValue, _>(&self.key, now, true, |set| {
                self.members
                    .iter()
                    .filter(|member| set.insert(member))
                    .count()
            })?
            .unwrap_or(0);
        Ok(Frame::Integer(added as i64))
    }
}

impl SRem {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The number of members removed; a set left empty is deleted.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let removed = db
            .store(&self.key)
            .update::<SetValue, _>(&self.key, now, false, |set| {
                self.members
                    .iter()
                    .filter(|member| set.remove(member))
                    .count()
            })?
            .unwrap_or(0);
        Ok(Frame::Integer(removed as i64))
    }
}
