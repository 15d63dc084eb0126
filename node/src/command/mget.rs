//! MGET key [key ...]

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn mget(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let keys = &args[1..];
    let now = context.now_ms;
    out.array_header(keys.len());
    let (hits, misses) =
        context
            .shared
            .keyspace
            .with_keys(keys.iter().map(|key| &key[..]), |shards| {
                let (mut hits, mut misses) = (0, 0);
                for key in keys {
                    match shards.store(key).get(key, now) {
                        Some(entry) => {
                            hits += 1;
                            out.bulk(entry.value());
                        }
                        None => {
                            misses += 1;
                            out.null();
                        }
                    }
                }
                (hits, misses)
            });
    context.stats.hits += hits;
    context.stats.misses += misses;
    Ok(())
}
