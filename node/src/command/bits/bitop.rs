//! BITOP AND | OR | XOR | NOT destkey key [key ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsWrite, strings_of};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::bits::{self, BitOp as Operation};
use crate::store::{Db, Entry, WrongType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BitOp {
    operation: Operation,
    /// The destination, then the sources.
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let name = &args[1];
    let operation = [
        (&b"and"[..], Operation::And),
        (b"or", Operation::Or),
        (b"xor", Operation::Xor),
        (b"not", Operation::Not),
    ]
    .into_iter()
    .find(|(known, _)| name.eq_ignore_ascii_case(known))
    .map(|(_, operation)| operation)
    .ok_or(CommandError::Syntax)?;
    if operation == Operation::Not && args.len() != 4 {
        return Err(CommandError::Message(
            "ERR BITOP NOT must be called with a single source key.".to_owned(),
        ));
    }
    Ok(Write::Bits(BitsWrite::BitOp(BitOp {
        operation,
        keys: args[2..].to_vec(),
    })))
}

impl BitOp {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    /// The length of the result, stored at the destination whatever it held (without a TTL), or
    /// the destination deleted when the result is empty. Missing sources are empty strings.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let (destination, sources) = self.keys.split_first().ok_or(CommandError::Syntax)?;
        let (values, wrong_type) = strings_of(db, sources);
        if wrong_type.is_some() {
            return Err(WrongType.into());
        }
        let values: Vec<&[u8]> = values
            .iter()
            .map(|value| value.as_deref().unwrap_or_default())
            .collect();
        let result = bits::bit_op(self.operation, &values);
        let store = db.store(destination);
        if result.is_empty() {
            store.remove(destination, now);
        } else {
            store.put(Entry::new(destination, &result, 0, now), now);
        }
        Ok(Frame::Integer(result.len() as i64))
    }
}
