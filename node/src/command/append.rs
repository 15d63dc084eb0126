//! APPEND key value

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, WriteKind, WriteOp, WriteOutcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Append {
    key: Bytes,
    suffix: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Append(Append {
        key: args[1].clone(),
        suffix: args[2].clone(),
    }))
}

impl Append {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let op = WriteOp {
            now_ms: db.now_ms,
            kind: WriteKind::Append {
                key: self.key.clone(),
                suffix: self.suffix.clone(),
            },
        };
        match db.store(&self.key).apply(op)? {
            WriteOutcome::Length(length) => Ok(Frame::Integer(length as i64)),
            _ => Err(CommandError::Message(
                "ERR unexpected APPEND outcome".to_owned(),
            )),
        }
    }
}
