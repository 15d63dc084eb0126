//! RANDOMKEY: a key this process holds, chosen at random (in a cluster: among this member's
//! replicas, as a Redis Cluster node answers with one of its own keys).

use bytes::Bytes;

use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

use super::KeyspaceRead;

#[derive(Debug)]
pub struct RandomKey;

pub fn parse(_args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Keyspace(KeyspaceRead::RandomKey(RandomKey)))
}

impl RandomKey {
    pub fn keys(&self) -> Keys<'_> {
        Keys::None
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        // A read: the choice needs no agreement between replicas.
        let seed = crate::store::unix_micros() as u64 ^ u64::from(std::process::id());
        let key = context.keyspace.random_key(context.now_ms, seed);
        out.optional_bulk(key.as_deref());
        Ok(())
    }
}
