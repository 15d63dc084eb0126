//! Commands: looked up by case-insensitive name, checked against Redis's arity and authentication
//! rules, and parsed once into a typed value (one file per command; close variants such as
//! INCR/DECR share one). What a command is decides who runs it:
//!
//! * [`Read`]: runs on the local keyspace and writes its reply straight into the output buffer.
//! * [`Write`]: applied to the stores of its keys through a [`crate::store::Db`]; returns its reply
//!   as a [`Frame`], so a replica that applies it through the partition's log builds no bytes.
//!   `Write` is serialized into that log, so its variants are only ever appended.
//! * Server commands (PING, AUTH, HELLO, CLIENT, CONFIG, INFO, …): touch only the connection and
//!   the server, never routed and never replicated. `CLUSTER` and `FLUSHALL` are answered by the
//!   executor, which knows whether the node is a cluster member.

pub mod atomic;
pub mod eval;
pub mod multi;
pub(crate) mod read;
pub(crate) mod table;
pub(crate) mod write;

mod bits;
mod hashes;
mod keyspace;
mod lists;
mod sets;
mod sorted_sets;

mod append;
mod auth;
mod client;
mod command_info;
mod config;
mod dbsize;
mod del;
mod echo;
mod exists;
mod expire;
mod flush;
mod get;
mod getdel;
mod getex;
mod getset;
mod hello;
mod incr;
mod info;
mod keys;
mod mget;
mod mset;
mod persist;
mod ping;
mod pubsub;
mod quit;
mod readonly;
mod reset;
mod scan;
mod script_command;
mod select;
mod set;
mod setex;
mod setnx;
mod strlen;
mod time;
mod ttl;
mod type_of;

use std::sync::Arc;

use bytes::Bytes;
use thiserror::Error;

use crate::clients::ClientHandle;
use crate::protocol::{Frame, ReplyWriter};
use crate::shared::Shared;
use crate::stats::LocalStats;
use crate::store::{Keyspace, OutOfMemory, StoreError, WrongType, parse_integer};

pub use read::Read;
pub use table::{CommandSpec, Flags, Kind, lookup, specs};
/// Flag sets of the command table, named as in `table.rs`.
pub use table::{DEL, DELF, R, RF, W, WF};
pub use write::Write;

/// Per-connection state that commands read and change.
#[derive(Debug)]
pub struct ClientState {
    pub handle: Arc<ClientHandle>,
    pub authenticated: bool,
    /// Set by QUIT (and fatal errors): reply, then close.
    pub closing: bool,
    /// Cluster mode: the client asked for the topology (CLUSTER SLOTS/SHARDS/NODES), so it gets
    /// `-MOVED` redirections instead of transparent forwarding.
    pub cluster_aware: bool,
    /// Cluster mode: `READONLY` was sent, so reads may be served (stale) by any replica.
    pub readonly: bool,
    /// MULTI queue and WATCHed keys.
    pub transaction: multi::TransactionState,
    /// Cluster mode: the connection is another member's forwarding connection.
    pub from_member: bool,
    /// Authenticated as another cluster member (the member user and the cluster secret): may
    /// use the members' internal commands.
    pub member: bool,
    /// Pub/Sub channels, patterns and shard channels this connection listens to.
    pub pubsub: crate::pubsub::Subscriptions,
    /// Set while a transaction or script runs a command: PUBLISH holds its message here until
    /// the run commits (see [`crate::pubsub::Held`]).
    pub held_messages: Option<crate::pubsub::Held>,
}

impl ClientState {
    /// The state of a connection that just connected.
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        ClientState {
            handle,
            authenticated,
            closing: false,
            cluster_aware: false,
            readonly: false,
            transaction: multi::TransactionState::default(),
            from_member: false,
            member: false,
            pubsub: crate::pubsub::Subscriptions::default(),
            held_messages: None,
        }
    }
}

/// What a server command gets: the shared server, its connection, and the time the request started.
pub struct Session<'a> {
    pub shared: &'a Shared,
    pub client: &'a mut ClientState,
    pub stats: &'a mut LocalStats,
    pub now_ms: u64,
}

/// What a read command gets: the keyspace, the connection's counters, and the reader's clock.
pub struct ReadContext<'a> {
    pub keyspace: &'a Keyspace,
    pub stats: &'a mut LocalStats,
    pub now_ms: u64,
}

/// A server command's handler.
pub type ServerHandler = fn(&mut Session<'_>, &[Bytes], &mut ReplyWriter) -> CommandResult;

/// A request parsed into what it is.
#[derive(Debug)]
pub enum Parsed {
    Read(Read),
    Write(Write),
    /// FLUSHALL / FLUSHDB.
    Flush,
    Server(ServerHandler),
    /// CLUSTER …
    Cluster,
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
    Transaction(multi::TxCommand),
    /// EVAL and kin.
    Script(eval::ScriptCall),
}

/// The keys a command names, in order (a key named twice appears twice).
#[derive(Debug)]
pub enum Keys<'a> {
    None,
    One(&'a [u8]),
    Many(Vec<&'a [u8]>),
}

impl<'a> Keys<'a> {
    pub fn many(keys: impl IntoIterator<Item = &'a Bytes>) -> Keys<'a> {
        Keys::Many(keys.into_iter().map(|key| &key[..]).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let (one, many): (Option<&'a [u8]>, &[&'a [u8]]) = match self {
            Keys::None => (None, &[]),
            Keys::One(key) => (Some(*key), &[]),
            Keys::Many(keys) => (None, keys),
        };
        one.into_iter().chain(many.iter().copied())
    }

    /// The slot every key hashes to: `Ok(None)` without keys, [`CrossSlot`] when they differ.
    pub fn slot(&self) -> Result<Option<u16>, CrossSlot> {
        let mut slot = None;
        for key in self.iter() {
            let key_slot = crate::store::key_slot(key);
            match slot {
                None => slot = Some(key_slot),
                Some(known) if known != key_slot => return Err(CrossSlot),
                Some(_) => {}
            }
        }
        Ok(slot)
    }
}

/// Keys of one request hash to different slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossSlot;

impl CrossSlot {
    /// The error reply, worded as Redis Cluster words it.
    pub const REPLY: &str = "CROSSSLOT Keys in request don't hash to the same slot";
}

/// An error reply. The text (with its code prefix) is exactly what Redis sends, because clients match
/// on it.
#[derive(Debug, Error)]
pub enum CommandError {
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    OutOfMemory(#[from] OutOfMemory),
    #[error("{0}")]
    WrongType(#[from] WrongType),
    /// Any other message, including its error code.
    #[error("{0}")]
    Message(String),
}

pub type CommandResult = Result<(), CommandError>;

pub fn integer_arg(arg: &[u8]) -> Result<i64, CommandError> {
    parse_integer(arg).ok_or(CommandError::NotInteger)
}

pub fn text(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(arg)
}

/// The command named `name`, in any letter case, without allocating for normal names.
pub fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buffer = [0u8; 32];
    if name.len() > buffer.len() {
        return None;
    }
    for (slot, byte) in buffer.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    lookup(&buffer[..name.len()])
}

/// Redis's reply to an unknown command, byte for byte.
fn unknown_command(args: &[Bytes]) -> String {
    let mut listed = String::new();
    for arg in &args[1..] {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        let arg = text(arg);
        let shown: String = arg.chars().take(room).collect();
        listed.push_str(&format!("'{shown}' "));
    }
    let name: String = text(&args[0]).chars().take(128).collect();
    format!("ERR unknown command '{name}', with args beginning with: {listed}")
}

/// Why a request was not parsed: the error reply is written, and the command, when it exists,
/// is named for `CLIENT LIST`.
#[derive(Debug)]
pub struct Rejected(pub Option<&'static CommandSpec>);

/// Lookup, arity, authentication, then parsing into a [`Parsed`] command. Errors are written to
/// `out` as Redis words them.
pub fn prepare(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Result<(&'static CommandSpec, Parsed), Rejected> {
    let spec = check(session, args, out)?;
    match parse_checked(spec, args, session.now_ms) {
        Ok(parsed) => Ok((spec, parsed)),
        Err(error) => {
            out.error(&error.to_string());
            Err(Rejected(Some(spec)))
        }
    }
}

/// Lookup, arity and authentication (what MULTI checks before queuing a request). Errors are
/// written to `out` as Redis words them.
pub fn check(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Result<&'static CommandSpec, Rejected> {
    let Some(name) = args.first() else {
        return Err(Rejected(None));
    };
    let Some(spec) = find(name) else {
        out.error(&unknown_command(args));
        return Err(Rejected(None));
    };
    session.stats.commands += 1;
    if !spec.accepts(args.len()) {
        out.error(&CommandError::WrongArity(spec.name.to_owned()).to_string());
        return Err(Rejected(Some(spec)));
    }
    if !session.client.authenticated && !spec.flags.contains(Flags::NO_AUTH) {
        out.error("NOAUTH Authentication required.");
        return Err(Rejected(Some(spec)));
    }
    if session.client.pubsub.active()
        && out.protocol() == crate::protocol::Protocol::Resp2
        && !spec.flags.contains(Flags::SUBSCRIBED_OK)
    {
        out.error(&pubsub::not_in_subscribed_mode(spec, args));
        return Err(Rejected(Some(spec)));
    }
    Ok(spec)
}

/// Parses a request whose name and arity are known to be right.
pub fn parse_checked(
    spec: &'static CommandSpec,
    args: &[Bytes],
    now_ms: u64,
) -> Result<Parsed, CommandError> {
    Ok(match spec.kind {
        Kind::Read(parse) => Parsed::Read(parse(args)?),
        Kind::Write(parse) => Parsed::Write(parse(args, now_ms)?),
        Kind::Flush => {
            flush::check(args)?;
            Parsed::Flush
        }
        Kind::Server(handler) => Parsed::Server(handler),
        Kind::Cluster => Parsed::Cluster,
        Kind::Transaction => Parsed::Transaction(multi::parse(spec.name, args)?),
        Kind::Script(parse) => Parsed::Script(parse(args)?),
    })
}

/// Parses a write command for a replica that applies a log entry written by an older member
/// (which stored the request's arguments, not the parsed command).
pub fn parse_write(args: &[Bytes], now_ms: u64) -> Result<Write, CommandError> {
    let spec = args.first().and_then(|name| find(name));
    match spec.map(|spec| (spec, spec.kind)) {
        Some((spec, Kind::Write(parse))) => {
            if !spec.accepts(args.len()) {
                return Err(CommandError::WrongArity(spec.name.to_owned()));
            }
            parse(args, now_ms)
        }
        _ => Err(CommandError::Message(
            "ERR not a replicable write command".to_owned(),
        )),
    }
}

/// Runs a read on the local keyspace, writing its reply or its error.
pub fn run_read(session: &mut Session<'_>, read: &Read, out: &mut ReplyWriter) {
    let mut context = ReadContext {
        keyspace: &session.shared.keyspace,
        stats: session.stats,
        now_ms: session.now_ms,
    };
    if let Err(error) = read.run(&mut context, out) {
        out.error(&error.to_string());
    }
    if !session.client.transaction.watched.is_empty() {
        note_watched_reads(session, read);
    }
}

/// A read of a watched key that found another value than the one watched: the client may act on
/// it, so the transaction must not apply even if the key changes back before EXEC (the digest
/// check at EXEC alone would miss such an A→B→A change).
fn note_watched_reads(session: &mut Session<'_>, read: &Read) {
    let transaction = &mut session.client.transaction;
    for key in read.keys().iter() {
        for guard in transaction.watched.iter().filter(|guard| guard.key == key) {
            if atomic::digest_of(&session.shared.keyspace, key, session.now_ms) != guard.digest {
                transaction.dirty = true;
            }
        }
    }
}

/// Runs a server command, writing its reply or its error.
pub fn run_server(
    handler: ServerHandler,
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) {
    if let Err(error) = handler(session, args, out) {
        out.error(&error.to_string());
    }
}

/// Renders a write's outcome.
pub fn write_reply(outcome: &Result<Frame, CommandError>, out: &mut ReplyWriter) {
    match outcome {
        Ok(frame) => out.frame(frame),
        Err(error) => out.error(&error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_matches_redis_wording() {
        let args = [Bytes::from("foo"), Bytes::from("a"), Bytes::from("b")];
        assert_eq!(
            unknown_command(&args),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            unknown_command(&[Bytes::from("foo")]),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }
}
