//! MGET key [key ...]

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct MGet {
    keys: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::MGet(MGet {
        keys: args[1..].to_vec(),
    }))
}

impl MGet {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let keys = &self.keys;
        out.array_header(keys.len());
        let (hits, misses) =
            context
                .keyspace
                .with_keys(keys.iter().map(|key| &key[..]), context.now_ms, |db| {
                    let (mut hits, mut misses) = (0, 0);
                    let now = db.now_ms;
                    for key in keys {
                        // A key of another type reads as missing, as in Redis.
                        match db.store(key).get(key, now).filter(|e| e.object().is_none()) {
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
}
