//! PFMERGE destkey [sourcekey [sourcekey ...]]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsWrite, hll_error, strings_of};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, Entry, WrongType, hll};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PfMerge {
    /// The destination, then the sources.
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Bits(BitsWrite::PfMerge(PfMerge {
        keys: args[1..].to_vec(),
    })))
}

impl PfMerge {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    /// Stores the union of the destination (when it exists) and the sources at the destination,
    /// keeping its TTL; a missing destination is created even with no sources. `+OK`.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let (values, wrong_type) = strings_of(db, &self.keys);
        // Redis checks the keys in turn, the destination first: a value of another type is
        // reported only after the values before it were found fine.
        let mut values = values.into_iter();
        let target = values.next().flatten();
        let sources: Vec<Vec<u8>> = values.flatten().collect();
        let sources: Vec<&[u8]> = sources.iter().map(Vec::as_slice).collect();
        let merged = hll::merge(target.as_deref(), &sources).map_err(hll_error)?;
        if wrong_type.is_some() {
            return Err(WrongType.into());
        }
        let destination = &self.keys[0];
        let store = db.store(destination);
        let expire_at_ms = store
            .get(destination, now)
            .map_or(0, |entry| entry.expire_at_ms());
        store.put(Entry::new(destination, &merged, expire_at_ms, now), now);
        Ok(Frame::Ok)
    }
}
