//! PUBLISH channel message; SPUBLISH shardchannel message. The reply counts the receivers on this
//! member (Redis Cluster's count); in a cluster the message also goes to every other member.

use bytes::Bytes;

use super::super::{CommandResult, Session};
use crate::protocol::ReplyWriter;
use crate::pubsub::Scope;

pub fn publish(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let receivers = session
        .shared
        .pubsub
        .publish(Scope::Global, &args[1], &args[2]);
    out.integer(receivers as i64);
    Ok(())
}

pub fn spublish(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    super::shard_route(session, &args[1..2])?;
    let receivers = session
        .shared
        .pubsub
        .publish(Scope::Shard, &args[1], &args[2]);
    out.integer(receivers as i64);
    Ok(())
}
