//! RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::command::{CommandError, Keys, Write, integer_arg};
use crate::protocol::Frame;
use crate::store::{Db, Kind};

use super::KeyspaceWrite;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    key: Bytes,
    /// Absolute unix milliseconds; 0 = no expiry.
    expire_at_ms: u64,
    payload: Bytes,
    replace: bool,
    /// IDLETIME: seconds since the last access.
    idle_seconds: Option<u64>,
}

fn error(text: &str) -> CommandError {
    CommandError::Message(text.to_owned())
}

pub fn parse(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    let ttl = integer_arg(&args[2])?;
    let (mut replace, mut absolute, mut idle_seconds) = (false, false, None);
    let mut frequency_given = false;
    let mut index = 4;
    while index < args.len() {
        let next = args.get(index + 1);
        match (args[index].to_ascii_uppercase().as_slice(), next) {
            (b"REPLACE", _) => replace = true,
            (b"ABSTTL", _) => absolute = true,
            (b"IDLETIME", Some(value)) if !frequency_given => {
                let idle = integer_arg(value)?;
                if idle < 0 {
                    return Err(error("ERR Invalid IDLETIME value, must be >= 0"));
                }
                idle_seconds = Some(idle as u64);
                index += 1;
            }
            (b"FREQ", Some(value)) if idle_seconds.is_none() => {
                let frequency = integer_arg(value)?;
                if !(0..=255).contains(&frequency) {
                    return Err(error("ERR Invalid FREQ value, must be >= 0 and <= 255"));
                }
                // Access frequency is not tracked (no LFU policy): accepted and ignored.
                frequency_given = true;
                index += 1;
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 1;
    }
    if ttl < 0 {
        return Err(error("ERR Invalid TTL value, must be >= 0"));
    }
    let expire_at_ms = match (ttl, absolute) {
        (0, _) => 0,
        (at, true) => at as u64,
        (relative, false) => now_ms.saturating_add(relative as u64),
    };
    Ok(Write::Keyspace(KeyspaceWrite::Restore(Restore {
        key: args[1].clone(),
        expire_at_ms,
        payload: args[3].clone(),
        replace,
        idle_seconds,
    })))
}

impl Restore {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        if !self.replace && store.peek(&self.key, now).is_some() {
            return Err(error("BUSYKEY Target key name already exists."));
        }
        let access_ms = now.saturating_sub(self.idle_seconds.unwrap_or(0).saturating_mul(1000));
        // After the BUSYKEY check, as Redis orders them; a bad payload changes nothing.
        let entry =
            crate::store::dump::restore(&self.key, &self.payload, self.expire_at_ms, access_ms)
                .map_err(|problem| error(problem.redis_message()))?;
        if self.expire_at_ms != 0 && self.expire_at_ms <= now {
            // Already expired: the net effect is that the key is gone, as in Redis.
            store.remove(&self.key, now);
            return Ok(Frame::Ok);
        }
        let list = entry.kind() == Kind::List;
        store.put(entry, now);
        if list {
            db.signal_list_ready(&self.key);
        }
        Ok(Frame::Ok)
    }
}
