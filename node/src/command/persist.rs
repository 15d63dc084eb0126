//! PERSIST key

use bytes::Bytes;

use super::expire::Expire;
use super::{CommandError, Write};
use crate::store::ExpireCondition;

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Expire(Expire {
        key: args[1].clone(),
        at_ms: 0,
        condition: ExpireCondition::Xx,
    }))
}
