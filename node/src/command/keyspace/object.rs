//! OBJECT ENCODING | IDLETIME | FREQ | REFCOUNT key, OBJECT HELP

use bytes::Bytes;

use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, text};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::{Entry, Object, parse_integer};

use super::KeyspaceRead;

#[derive(Debug)]
pub struct ObjectInfo {
    what: What,
    key: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Encoding,
    IdleTime,
    Freq,
    RefCount,
    Help,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let (what, arity) = match args[1].to_ascii_uppercase().as_slice() {
        b"ENCODING" => (What::Encoding, 3),
        b"IDLETIME" => (What::IdleTime, 3),
        b"FREQ" => (What::Freq, 3),
        b"REFCOUNT" => (What::RefCount, 3),
        b"HELP" => (What::Help, 2),
        _ => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand '{}'. Try OBJECT HELP.",
                text(&args[1])
            )));
        }
    };
    if args.len() != arity {
        return Err(CommandError::WrongArity(format!(
            "object|{}",
            text(&args[1]).to_ascii_lowercase()
        )));
    }
    Ok(Read::Keyspace(KeyspaceRead::Object(ObjectInfo {
        what,
        key: args.get(2).cloned().unwrap_or_default(),
    })))
}

/// The encoding Redis 7.0 would report for the same value (its default thresholds); ringcache
/// stores each type one way, so this is what a tool comparing with Redis expects to see.
fn encoding(entry: &Entry) -> &'static str {
    match entry.object() {
        None => {
            let value = entry.value();
            if value.len() <= 20 && parse_integer(value).is_some() {
                "int"
            } else if value.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Some(Object::Hash(hash)) => {
            let small = hash.len() <= 128
                && hash
                    .iter()
                    .all(|(field, value)| field.len() <= 64 && value.len() <= 64);
            if small { "listpack" } else { "hashtable" }
        }
        Some(Object::List(_)) => "quicklist",
        Some(Object::Set(set)) => {
            let integers = set.len() <= 512 && set.iter().all(|m| parse_integer(m).is_some());
            if integers { "intset" } else { "hashtable" }
        }
        Some(Object::ZSet(zset)) => {
            let small = zset.len() <= 128 && zset.iter().all(|(member, _)| member.len() <= 64);
            if small { "listpack" } else { "skiplist" }
        }
    }
}

const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Print this help.",
];

impl ObjectInfo {
    pub fn keys(&self) -> Keys<'_> {
        match self.what {
            What::Help => Keys::None,
            _ => Keys::One(&self.key),
        }
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        if self.what == What::Help {
            out.frame(&Frame::Array(
                HELP.iter().map(|line| Frame::simple(*line)).collect(),
            ));
            return Ok(());
        }
        let lfu = context.keyspace.policy().is_lfu();
        if self.what == What::Freq && !lfu {
            return Err(CommandError::Message(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
                 Please note that when switching between policies at runtime LRU and LFU data \
                 will take some time to adjust."
                    .to_owned(),
            ));
        }
        if self.what == What::IdleTime && lfu {
            return Err(CommandError::Message(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note \
                 that when switching between policies at runtime LRU and LFU data will take \
                 some time to adjust."
                    .to_owned(),
            ));
        }
        let now = context.now_ms;
        let answer = context.keyspace.with_key(&self.key, |store| {
            store.peek(&self.key, now).map(|entry| match self.what {
                What::Encoding => Frame::bulk(encoding(entry)),
                What::IdleTime => Frame::Integer(i64::from(entry.idle_ms(now) / 1000)),
                What::Freq => Frame::Integer(i64::from(crate::eviction::lfu_counter(
                    entry.access_ms(),
                    now,
                ))),
                _ => Frame::Integer(1),
            })
        });
        context.stats.hit_or_miss(answer.is_some());
        out.frame(&answer.unwrap_or(Frame::Null));
        Ok(())
    }
}
