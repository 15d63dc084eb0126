//! Commands: lookup by case-insensitive name, Redis's arity and authentication rules, and one file per
//! command (closely related variants such as INCR/DECR/INCRBY share one).
//!
//! Every handler parses its own arguments, performs reads directly on the keyspace and writes as
//! [`crate::store::WriteOp`]s, and encodes its reply with the connection's [`ReplyWriter`].

mod append;
mod auth;
mod client;
mod cluster;
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
mod quit;
mod readonly;
mod scan;
mod select;
mod set;
mod setex;
mod setnx;
mod strlen;
mod table;
mod time;
mod ttl;
mod type_of;

use std::sync::Arc;

use bytes::Bytes;
use thiserror::Error;

use crate::clients::ClientHandle;
use crate::protocol::ReplyWriter;
use crate::shared::Shared;
use crate::stats::LocalStats;
use crate::store::{OutOfMemory, StoreError, WriteOp, WriteOutcome, parse_integer};

pub use table::{CommandSpec, Flags, lookup, specs};

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
        }
    }
}

/// What a handler gets: the shared server, its connection, and the time the command started.
pub struct Context<'a> {
    pub shared: &'a Shared,
    pub client: &'a mut ClientState,
    pub stats: &'a mut LocalStats,
    pub now_ms: u64,
}

impl Context<'_> {
    pub fn apply(&self, kind: crate::store::WriteKind) -> Result<WriteOutcome, StoreError> {
        self.shared.keyspace.apply(WriteOp {
            now_ms: self.now_ms,
            kind,
        })
    }
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
    /// Any other message, including its error code.
    #[error("{0}")]
    Message(String),
}

pub type CommandResult = Result<(), CommandError>;

/// A handler: runs one command whose name and arity were already checked.
pub type Handler = fn(&mut Context<'_>, &[Bytes], &mut ReplyWriter) -> CommandResult;

pub fn integer_arg(arg: &[u8]) -> Result<i64, CommandError> {
    parse_integer(arg).ok_or(CommandError::NotInteger)
}

pub fn text(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(arg)
}

/// Lower-case copy of a command name for lookup, without allocating for normal names.
fn lowercase_name(name: &[u8], buffer: &mut [u8; 32]) -> Option<usize> {
    if name.len() > buffer.len() {
        return None;
    }
    for (slot, byte) in buffer.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    Some(name.len())
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

/// Runs one request: lookup, arity, authentication, memory limit, then the handler. Returns the
/// command's name when it exists (for `CLIENT LIST`).
pub fn execute(
    context: &mut Context<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Option<&'static CommandSpec> {
    let spec = match checked(context, args, out) {
        Checked::Ready(spec) => spec,
        Checked::Rejected(spec) => return spec,
    };
    if spec.flags.contains(Flags::WRITE)
        && let Err(error) = context.shared.keyspace.make_room(context.now_ms)
        && spec.flags.contains(Flags::DENY_OOM)
    {
        out.error(&error.to_string());
        return Some(spec);
    }
    run(context, spec, args, out);
    if spec.flags.contains(Flags::WRITE) {
        // Evict right after the write too, so under an evicting policy memory is back within the
        // limit when the command returns (Redis only checks before, and may stay one write over).
        let _ = context.shared.keyspace.make_room(context.now_ms);
    }
    Some(spec)
}

/// Outcome of [`checked`].
pub enum Checked {
    /// Passed every check: run it.
    Ready(&'static CommandSpec),
    /// The error reply is written; the command, when it exists, is named for `CLIENT LIST`.
    Rejected(Option<&'static CommandSpec>),
}

/// Lookup, arity and authentication.
pub fn checked(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> Checked {
    let Some(name) = args.first() else {
        return Checked::Rejected(None);
    };
    let mut buffer = [0u8; 32];
    let spec = lowercase_name(name, &mut buffer).and_then(|length| lookup(&buffer[..length]));
    let Some(spec) = spec else {
        out.error(&unknown_command(args));
        return Checked::Rejected(None);
    };
    context.stats.commands += 1;
    let count = args.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && count != arity) || count < -arity {
        out.error(&CommandError::WrongArity(spec.name.to_owned()).to_string());
        return Checked::Rejected(Some(spec));
    }
    if !context.client.authenticated && !spec.flags.contains(Flags::NO_AUTH) {
        out.error("NOAUTH Authentication required.");
        return Checked::Rejected(Some(spec));
    }
    Checked::Ready(spec)
}

/// Runs the handler of a checked command, writing its reply or its error.
pub fn run(
    context: &mut Context<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    out: &mut ReplyWriter,
) {
    if let Err(error) = (spec.handler)(context, args, out) {
        out.error(&error.to_string());
    }
}

/// Executes a write command as a Raft-replicated partition applies it: with the proposer's clock
/// and protocol, no authentication or memory checks (the leader made them before proposing), and
/// a reply that only the proposer sends on. Deterministic: the same state, arguments and clock
/// give the same result on every replica.
pub fn execute_replicated(
    shared: &Shared,
    args: &[Bytes],
    now_ms: u64,
    protocol: crate::protocol::Protocol,
) -> Bytes {
    static REPLICATION_CLIENT: std::sync::OnceLock<Arc<ClientHandle>> = std::sync::OnceLock::new();
    let handle = REPLICATION_CLIENT.get_or_init(|| Arc::new(ClientHandle::internal()));
    let mut client = ClientState::new(handle.clone(), true);
    let mut stats = LocalStats::default();
    let mut out = ReplyWriter::new(protocol);
    let mut context = Context {
        shared,
        client: &mut client,
        stats: &mut stats,
        now_ms,
    };
    let mut buffer = [0u8; 32];
    let spec = args
        .first()
        .and_then(|name| lowercase_name(name, &mut buffer))
        .and_then(|length| lookup(&buffer[..length]));
    match spec {
        Some(spec) if spec.flags.contains(Flags::WRITE) => run(&mut context, spec, args, &mut out),
        // Only checked write commands are proposed; anything else came from an incompatible
        // member version, and every replica rejects it alike.
        _ => out.error("ERR not a replicable write command"),
    }
    out.buffer_mut().split().freeze()
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
