//! LSET key index element

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ListWrite, resolve_index};
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LSet {
    key: Bytes,
    /// Read when applied: Redis looks the key up before the index ("ERR no such key" and
    /// WRONGTYPE win over a bad index).
    index: Bytes,
    element: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Lists(ListWrite::Set(LSet {
        key: args[1].clone(),
        index: args[2].clone(),
        element: args[3].clone(),
    })))
}

impl LSet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let Some(list) = store.read::<ListValue>(&self.key, now)? else {
            return Err(CommandError::Message("ERR no such key".to_owned()));
        };
        let index = integer_arg(&self.index)?;
        let Some(position) = resolve_index(index, list.len()) else {
            return Err(CommandError::Message("ERR index out of range".to_owned()));
        };
        store.update::<ListValue, _>(&self.key, now, false, |list| {
            list.set(position, &self.element)
        })?;
        Ok(Frame::Ok)
    }
}
