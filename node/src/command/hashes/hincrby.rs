//! HINCRBY key field increment, HINCRBYFLOAT key field increment

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::HashWrite;
use super::long_double::{LongDouble, Parsed};
use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::types::{HashValue, ValueType};
use crate::store::{Db, parse_integer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HIncrBy {
    key: Bytes,
    field: Bytes,
    delta: i64,
}

/// The increment is kept as its text and parsed again where it is applied (parsing is exact and
/// deterministic), so the log holds no platform-dependent number format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HIncrByFloat {
    key: Bytes,
    field: Bytes,
    increment: Bytes,
}

pub fn hincrby(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Hashes(HashWrite::IncrBy(HIncrBy {
        key: args[1].clone(),
        field: args[2].clone(),
        delta: integer_arg(&args[3])?,
    })))
}

/// The increment of HINCRBYFLOAT, with Redis's errors.
fn increment(text: &[u8]) -> Result<LongDouble, CommandError> {
    match LongDouble::parse(text) {
        Some(Parsed::Finite(value)) => Ok(value),
        Some(Parsed::Infinite) => Err(CommandError::Message(
            "ERR value is NaN or Infinity".to_owned(),
        )),
        None => Err(CommandError::NotFloat),
    }
}

pub fn hincrbyfloat(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    increment(&args[3])?;
    Ok(Write::Hashes(HashWrite::IncrByFloat(HIncrByFloat {
        key: args[1].clone(),
        field: args[2].clone(),
        increment: args[3].clone(),
    })))
}

/// The field's current value in a hash that may not exist yet (nothing is created on error).
fn current<'a>(
    db: &'a mut Db<'_>,
    key: &[u8],
    field: &[u8],
) -> Result<Option<&'a [u8]>, CommandError> {
    let now = db.now_ms;
    let hash = db.store(key).peek(key, now).map(|entry| {
        entry
            .object()
            .and_then(HashValue::cast)
            .ok_or(crate::store::WrongType)
    });
    Ok(hash.transpose()?.and_then(|hash| hash.get(field)))
}

fn set_field(db: &mut Db<'_>, key: &[u8], field: &[u8], value: &[u8]) -> Result<(), CommandError> {
    let now = db.now_ms;
    db.store(key)
        .update::<HashValue, _>(key, now, true, |hash| hash.insert(field, value))?;
    Ok(())
}

impl HIncrBy {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let old = match current(db, &self.key, &self.field)? {
            Some(text) => parse_integer(text).ok_or_else(|| {
                CommandError::Message("ERR hash value is not an integer".to_owned())
            })?,
            None => 0,
        };
        let new = old.checked_add(self.delta).ok_or_else(|| {
            CommandError::Message("ERR increment or decrement would overflow".to_owned())
        })?;
        let mut digits = itoa::Buffer::new();
        set_field(db, &self.key, &self.field, digits.format(new).as_bytes())?;
        Ok(Frame::Integer(new))
    }
}

impl HIncrByFloat {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// As Redis: `long double` arithmetic, the result stored and replied as text.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let increment = increment(&self.increment)?;
        let not_finite =
            || CommandError::Message("ERR increment would produce NaN or Infinity".to_owned());
        let old = match current(db, &self.key, &self.field)? {
            Some(text) => match LongDouble::parse(text) {
                Some(Parsed::Finite(value)) => value,
                Some(Parsed::Infinite) => return Err(not_finite()),
                None => {
                    return Err(CommandError::Message(
                        "ERR hash value is not a float".to_owned(),
                    ));
                }
            },
            None => LongDouble::ZERO,
        };
        let new = old.add(increment).ok_or_else(not_finite)?.to_human();
        set_field(db, &self.key, &self.field, new.as_bytes())?;
        Ok(Frame::Bulk(Bytes::from(new)))
    }
}
