//! DEL key [key ...], UNLINK key [key ...] (UNLINK frees memory in the background in Redis;
//! values here are freed inline).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, DeleteReason, WriteKind, WriteOp, WriteOutcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Del {
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Del(Del {
        keys: args[1..].to_vec(),
    }))
}

impl Del {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let mut deleted = 0;
        for key in &self.keys {
            let kind = WriteKind::Delete {
                key: key.clone(),
                reason: DeleteReason::Command,
            };
            if let WriteOutcome::Deleted(Some(_)) =
                db.store(key).apply(WriteOp { now_ms: now, kind })?
            {
                deleted += 1;
            }
        }
        Ok(Frame::Integer(deleted))
    }
}
