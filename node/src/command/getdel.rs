//! GETDEL key

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, DeleteReason, WriteKind, WriteOp, WriteOutcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetDel {
    key: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::GetDel(GetDel {
        key: args[1].clone(),
    }))
}

impl GetDel {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        if let Some(entry) = db.store(&self.key).peek(&self.key, now) {
            entry.string()?;
        }
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::Delete {
                key: self.key.clone(),
                reason: DeleteReason::Command,
            },
        };
        Ok(match db.store(&self.key).apply(op)? {
            WriteOutcome::Deleted(Some(entry)) => {
                Frame::Bulk(Bytes::copy_from_slice(entry.value()))
            }
            _ => Frame::Null,
        })
    }
}
