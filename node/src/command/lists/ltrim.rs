//! LTRIM key start stop

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ListWrite, resolve_range};
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::ListValue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LTrim {
    key: Bytes,
    start: i64,
    stop: i64,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Lists(ListWrite::Trim(LTrim {
        key: args[1].clone(),
        start: integer_arg(&args[2])?,
        stop: integer_arg(&args[3])?,
    })))
}

impl LTrim {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// Keeps `start..=stop` (the indexes of LRANGE); a range selecting nothing deletes the key.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        db.store(&self.key)
            .update::<ListValue, _>(&self.key, now, false, |list| {
                match resolve_range(self.start, self.stop, list.len()) {
                    Some((start, stop)) => list.retain_range(start, stop + 1),
                    None => list.retain_range(0, 0),
                }
            })?;
        Ok(Frame::Ok)
    }
}
