//! GET key

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn get(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let key = &args[1];
    let now = context.now_ms;
    // The value is copied into the reply while the shard lock is held: no intermediate allocation.
    let hit = context
        .shared
        .keyspace
        .with_key(key, |store| match store.get(key, now) {
            Some(entry) => {
                out.bulk(entry.value());
                true
            }
            None => {
                out.null();
                false
            }
        });
    context.stats.hit_or_miss(hit);
    Ok(())
}
