//! SETRANGE key offset value

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::BitsWrite;
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, Entry, MAX_STRING_LEN, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetRange {
    key: Bytes,
    offset: u64,
    value: Bytes,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let offset = u64::try_from(integer_arg(&args[2])?)
        .map_err(|_| CommandError::Message("ERR offset is out of range".to_owned()))?;
    Ok(Write::Bits(BitsWrite::SetRange(SetRange {
        key: args[1].clone(),
        offset,
        value: args[3].clone(),
    })))
}

impl SetRange {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The string's new length. An empty value changes nothing (a missing key stays missing and
    /// counts 0); otherwise the string is padded with zero bytes up to `offset` and overwritten
    /// there, keeping its TTL, within Redis's 512MB limit.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let (current, expire_at_ms) = match store.get(&self.key, now) {
            Some(entry) => (entry.string()?, entry.expire_at_ms()),
            None => (&[][..], 0),
        };
        if self.value.is_empty() {
            return Ok(Frame::Integer(current.len() as i64));
        }
        // `offset` came from a non-negative i64, so adding a value's length cannot overflow.
        let end = self.offset + self.value.len() as u64;
        if end > MAX_STRING_LEN as u64 {
            return Err(StoreError::TooLarge.into());
        }
        let (offset, end) = (self.offset as usize, end as usize);
        let kept = offset.min(current.len());
        let padding = vec![0; offset - kept];
        let tail = current.get(end..).unwrap_or_default();
        let entry = Entry::from_parts(
            &self.key,
            &[&current[..kept], &padding, &self.value, tail],
            expire_at_ms,
            now,
        );
        let length = kept + padding.len() + self.value.len() + tail.len();
        store.put(entry, now);
        Ok(Frame::Integer(length as i64))
    }
}
