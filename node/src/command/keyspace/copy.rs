//! COPY source destination [DB destination-db] [REPLACE]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, Kind};

use super::KeyspaceWrite;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Copy {
    from: Bytes,
    to: Bytes,
    replace: bool,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let mut replace = false;
    let mut index = 3;
    while index < args.len() {
        match args[index].to_ascii_uppercase().as_slice() {
            b"REPLACE" => replace = true,
            b"DB" if index + 1 < args.len() => {
                index += 1;
                // One database, as in Redis Cluster.
                if integer_arg(&args[index])? != 0 {
                    return Err(CommandError::Message(
                        "ERR Copying to another database is not allowed in cluster mode".to_owned(),
                    ));
                }
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    Ok(Write::Keyspace(KeyspaceWrite::Copy(Copy {
        from: args[1].clone(),
        to: args[2].clone(),
        replace,
    })))
}

impl Copy {
    pub fn keys(&self) -> Keys<'_> {
        Keys::Many(vec![&self.from, &self.to])
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        if self.from == self.to {
            return Err(CommandError::Message(
                "ERR source and destination objects are the same".to_owned(),
            ));
        }
        let Some(source) = db.store(&self.from).peek(&self.from, now) else {
            return Ok(Frame::Integer(0));
        };
        let copied = source.renamed(&self.to);
        if !self.replace && db.store(&self.to).peek(&self.to, now).is_some() {
            return Ok(Frame::Integer(0));
        }
        let list = copied.kind() == Kind::List;
        db.store(&self.to).put(copied, now);
        if list {
            db.signal_list_ready(&self.to);
        }
        Ok(Frame::Integer(1))
    }
}
