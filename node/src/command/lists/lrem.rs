//! LREM key count element

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ListWrite;
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LRem {
    key: Bytes,
    /// Removes up to `count` matches from the head (positive), from the tail (negative), or all
    /// (0).
    count: i64,
    element: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Lists(ListWrite::Remove(LRem {
        key: args[1].clone(),
        count: integer_arg(&args[2])?,
        element: args[3].clone(),
    })))
}

impl LRem {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// How many were removed; the key is deleted when none is left.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let removed =
            db.store(&self.key)
                .update::<ListValue, _>(&self.key, now, false, |list| {
                    list.remove_matching(&self.element, self.count)
                })?;
        Ok(Frame::Integer(removed.unwrap_or(0) as i64))
    }
}
