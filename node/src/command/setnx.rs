//! SETNX key value

use bytes::Bytes;

use super::set::{Set, SetReply};
use super::{CommandError, Write};
use crate::store::{SetCondition, SetExpiry};

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Set(Set {
        key: args[1].clone(),
        value: args[2].clone(),
        expiry: SetExpiry::Clear,
        condition: SetCondition::IfAbsent,
        reply: SetReply::Written,
    }))
}
