//! SETBIT key offset value

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsWrite, bit_offset_error, owned_string};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, Entry, bits, parse_integer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetBit {
    key: Bytes,
    offset: u64,
    bit: bool,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let offset = bits::parse_bit_offset(&args[2]).ok_or_else(bit_offset_error)?;
    let bit = match parse_integer(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => {
            return Err(CommandError::Message(
                "ERR bit is not an integer or out of range".to_owned(),
            ));
        }
    };
    Ok(Write::Bits(BitsWrite::SetBit(SetBit {
        key: args[1].clone(),
        offset,
        bit,
    })))
}

impl SetBit {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The bit's previous value. The string grows with zero bytes to hold the bit (even when
    /// clearing it) and keeps its TTL; a missing key is created.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let (mut value, expire_at_ms) = owned_string(store, &self.key, now)?.unwrap_or_default();
        let length = value.len();
        let previous = bits::set_bit(&mut value, self.offset, self.bit);
        if value.len() != length || previous != u8::from(self.bit) {
            store.put(Entry::new(&self.key, &value, expire_at_ms, now), now);
        }
        Ok(Frame::Integer(i64::from(previous)))
    }
}
