//! DBSIZE

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct DbSize;

pub fn parse(_args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::DbSize(DbSize))
}

impl DbSize {
    /// Keyless: it counts the keys this process holds.
    pub fn keys(&self) -> Keys<'_> {
        Keys::None
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        out.integer(context.keyspace.dbsize(context.now_ms) as i64);
        Ok(())
    }
}
