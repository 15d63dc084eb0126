//! PFCOUNT key [key ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsWrite, hll_error, owned_string, strings_of};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, Entry, WrongType, hll};

/// A write (see the table in `mod.rs`): with one key, a stale cached cardinality is recomputed and
/// stored in the value, as Redis does and propagates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PfCount {
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Bits(BitsWrite::PfCount(PfCount {
        keys: args[1..].to_vec(),
    })))
}

impl PfCount {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    /// The estimated cardinality: of the one HyperLogLog (0 when missing), or of the union of
    /// several (missing keys skipped, no value changed). Redis replies with the 64-bit estimate as
    /// a signed integer.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        if let [key] = &self.keys[..] {
            let store = db.store(key);
            let Some((mut value, expire_at_ms)) = owned_string(store, key, now)? else {
                return Ok(Frame::Integer(0));
            };
            let before = value.get(8..16).map(<[u8]>::to_vec);
            let count = hll::count(&mut value).map_err(hll_error)?;
            if value.get(8..16) != before.as_deref() {
                store.put(Entry::new(key, &value, expire_at_ms, now), now);
            }
            return Ok(Frame::Integer(count as i64));
        }
        // Redis checks each key in turn: a value of another type is reported only after the
        // values before it were found fine.
        let (values, wrong_type) = strings_of(db, &self.keys);
        let values: Vec<&[u8]> = values.iter().flatten().map(Vec::as_slice).collect();
        let count = hll::count_union(&values).map_err(hll_error)?;
        if wrong_type.is_some() {
            return Err(WrongType.into());
        }
        Ok(Frame::Integer(count as i64))
    }
}
