//! [`Executor`]: carries a parsed request to where it runs. Chosen once at start-up, so the
//! connection and the commands never ask which mode the node runs in:
//!
//! ```text
//!                    command::prepare ── lookup, arity, AUTH, parse once into Parsed
//!                          │
//!            ┌─────────────┴──────────────┐
//!            ▼                            ▼
//!   Executor::Local               Executor::Replicated (cluster::dispatch)
//!   reads: run on the keyspace    slot → partition → leader here?
//!   writes: Keyspace::with_keys     yes: reads after a confirmed lease, writes proposed as
//!           → Write::apply               PartitionCommand::Write and applied by every replica
//!                                   no:  -MOVED (cluster-aware client) or forwarded to the leader
//! ```

use std::sync::Arc;

use bytes::Bytes;

use crate::cluster::Cluster;
use crate::cluster::dispatch::ConnectionRouting;
use crate::command::{self, CommandSpec, Flags, Parsed, Rejected, Session};
use crate::protocol::ReplyWriter;

/// How requests are carried out: in this process alone, or replicated through each partition's
/// Raft group.
#[derive(Debug, Clone)]
pub enum Executor {
    Local,
    Replicated(Arc<Cluster>),
}

/// What an executor keeps per connection (routing state and forwarding connections in cluster
/// mode).
#[derive(Default)]
pub struct ConnectionState {
    routing: ConnectionRouting,
}

impl ConnectionState {
    /// Called when a new batch of pipelined requests starts.
    pub fn new_batch(&mut self) {
        self.routing.new_batch();
    }
}

impl Executor {
    /// The cluster, for the admin API and the background tasks of a member.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        match self {
            Executor::Local => None,
            Executor::Replicated(cluster) => Some(cluster),
        }
    }

    /// Serves one request, writing its reply (or error) to `out`. Returns the command, when it
    /// exists, for `CLIENT LIST`.
    pub async fn execute(
        &self,
        session: &mut Session<'_>,
        state: &mut ConnectionState,
        args: &[Bytes],
        out: &mut ReplyWriter,
    ) -> Option<&'static CommandSpec> {
        let (spec, parsed) = match command::prepare(session, args, out) {
            Ok(prepared) => prepared,
            Err(Rejected(spec)) => return spec,
        };
        match self {
            Executor::Local => execute_locally(session, spec, parsed, args, out),
            Executor::Replicated(cluster) => {
                crate::cluster::dispatch::serve(
                    session,
                    cluster,
                    &mut state.routing,
                    (spec, parsed),
                    args,
                    out,
                )
                .await
            }
        }
        Some(spec)
    }
}

/// A single process: every key is here and every write is applied at once.
fn execute_locally(
    session: &mut Session<'_>,
    spec: &'static CommandSpec,
    parsed: Parsed,
    args: &[Bytes],
    out: &mut ReplyWriter,
) {
    let keyspace = &session.shared.keyspace;
    let now_ms = session.now_ms;
    match parsed {
        Parsed::Read(read) => command::run_read(session, &read, out),
        Parsed::Write(write) => {
            if let Err(error) = keyspace.make_room(now_ms)
                && spec.flags.contains(Flags::DENY_OOM)
            {
                out.error(&error.to_string());
                return;
            }
            let write = write.resolve(keyspace, now_ms);
            let outcome = keyspace.with_keys(write.keys().iter(), now_ms, |db| write.apply(db));
            command::write_reply(&outcome, out);
            // Evict right after the write too, so under an evicting policy memory is back within
            // the limit when the command returns (Redis only checks before, and may stay one
            // write over).
            let _ = keyspace.make_room(now_ms);
        }
        Parsed::Flush => {
            keyspace.flush(now_ms);
            out.ok();
        }
        Parsed::Server(handler) => command::run_server(handler, session, args, out),
        Parsed::Cluster => out.error("ERR This instance has cluster support disabled"),
    }
}
