//! HDEL key field [field ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::HashWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::HashValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HDel {
    key: Bytes,
    fields: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Hashes(HashWrite::Del(HDel {
        key: args[1].clone(),
        fields: args[2..].to_vec(),
    })))
}

impl HDel {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The number of fields removed; a hash left empty is deleted.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let removed = db
            .store(&self.key)
            .update::<HashValue, _>(&self.key, now, false, |hash| {
                self.fields
                    .iter()
                    .filter(|field| hash.remove(field))
                    .count()
            })?
            .unwrap_or(0);
        Ok(Frame::Integer(removed as i64))
    }
}
