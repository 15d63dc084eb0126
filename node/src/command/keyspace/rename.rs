//! RENAME key newkey, RENAMENX key newkey

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, Kind};

use super::KeyspaceWrite;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rename {
    from: Bytes,
    to: Bytes,
    /// RENAMENX: only when `to` does not exist.
    only_if_absent: bool,
}

fn parse_as(args: &[Bytes], only_if_absent: bool) -> Result<Write, CommandError> {
    Ok(Write::Keyspace(KeyspaceWrite::Rename(Rename {
        from: args[1].clone(),
        to: args[2].clone(),
        only_if_absent,
    })))
}

pub fn rename(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, false)
}

pub fn renamenx(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    parse_as(args, true)
}

impl Rename {
    pub fn keys(&self) -> Keys<'_> {
        Keys::Many(vec![&self.from, &self.to])
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let Some(source) = db.store(&self.from).peek(&self.from, now) else {
            return Err(CommandError::Message("ERR no such key".to_owned()));
        };
        let moved = source.renamed(&self.to);
        let done = |renamed: bool| match self.only_if_absent {
            true => Frame::Integer(i64::from(renamed)),
            false => Frame::Ok,
        };
        if self.from == self.to {
            return Ok(done(!self.only_if_absent));
        }
        if self.only_if_absent && db.store(&self.to).peek(&self.to, now).is_some() {
            return Ok(done(false));
        }
        let list = moved.kind() == Kind::List;
        db.store(&self.from).remove(&self.from, now);
        db.store(&self.to).put(moved, now);
        if list {
            // Clients blocked on the new name may pop now.
            db.signal_list_ready(&self.to);
        }
        Ok(done(true))
    }
}
