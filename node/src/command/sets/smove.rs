//! SMOVE source destination member

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::SetWrite;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::{Kind, SetValue, WrongType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SMove {
    source: Bytes,
    destination: Bytes,
    member: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Sets(SetWrite::SMove(SMove {
        source: args[1].clone(),
        destination: args[2].clone(),
        member: args[3].clone(),
    })))
}

impl SMove {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many([&self.source, &self.destination])
    }

    /// As Redis: 0 when the source is missing (whatever the destination holds), WRONGTYPE when
    /// either key holds another type, 1 when the member moved (also when the destination had it
    /// already). Moving within one set changes nothing.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        match db.store(&self.source).kind(&self.source, now) {
            None => return Ok(Frame::Integer(0)),
            Some(Kind::Set) => {}
            Some(_) => return Err(WrongType.into()),
        }
        if db
            .store(&self.destination)
            .kind(&self.destination, now)
            .is_some_and(|kind| kind != Kind::Set)
        {
            return Err(WrongType.into());
        }
        if self.source == self.destination {
            let present = db
                .store(&self.source)
                .read::<SetValue>(&self.source, now)?
                .is_some_and(|set| set.contains(&self.member));
            return Ok(Frame::Integer(i64::from(present)));
        }
        let removed = db
            .store(&self.source)
            .update::<SetValue, _>(&self.source, now, false, |set| set.remove(&self.member))?
            .unwrap_or(false);
        if !removed {
            return Ok(Frame::Integer(0));
        }
        db.store(&self.destination)
            .update::<SetValue, _>(&self.destination, now, true, |set| set.insert(&self.member))?;
        Ok(Frame::Integer(1))
    }
}
