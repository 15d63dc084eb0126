//! LINSERT key BEFORE|AFTER pivot element

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ListWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LInsert {
    key: Bytes,
    after: bool,
    pivot: Bytes,
    element: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let after = if args[2].eq_ignore_ascii_case(b"after") {
        true
    } else if args[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    Ok(Write::Lists(ListWrite::Insert(LInsert {
        key: args[1].clone(),
        after,
        pivot: args[3].clone(),
        element: args[4].clone(),
    })))
}

impl LInsert {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The new length; -1 when the pivot is not in the list, 0 when the key does not exist.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let Some(list) = store.read::<ListValue>(&self.key, now)? else {
            return Ok(Frame::Integer(0));
        };
        let Some(pivot) = list.iter().position(|element| element == &self.pivot[..]) else {
            return Ok(Frame::Integer(-1));
        };
        let at = pivot + usize::from(self.after);
        let length = store.update::<ListValue, _>(&self.key, now, false, |list| {
            list.insert(at, &self.element);
            list.len()
        })?;
        Ok(Frame::Integer(length.unwrap_or(0) as i64))
    }
}
