//! SELECT index: only database 0 exists (a cluster has one keyspace, as Redis Cluster does).

use bytes::Bytes;

use super::{CommandError, CommandResult, Session, integer_arg};
use crate::protocol::ReplyWriter;

pub fn select(_context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    match integer_arg(&args[1])? {
        0 => {
            out.ok();
            Ok(())
        }
        _ => Err(CommandError::Message(
            "ERR DB index is out of range".to_owned(),
        )),
    }
}
