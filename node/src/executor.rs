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
//!
//! Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP; see [`Write::blocking`]) are
//! writes tried like their non-blocking form; while the attempt finds nothing to pop, the request
//! waits (in this connection's task, so a pipeline's later requests wait their turn) for a push
//! to one of its keys ([`crate::store::Keyspace::list_pushed`]) or for its timeout, which
//! answers the null array as Redis does.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::cluster::Cluster;
use crate::cluster::relay::ConnectionRouting;
use crate::command::multi::TxCommand;
use crate::command::{self, CommandSpec, Flags, Parsed, Rejected, Session, Write};
pub use crate::departure::Departure;
use crate::protocol::{Frame, ReplyWriter};
use crate::store::Keyspace;
use crate::transaction;

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
        self.execute_watching(session, state, args, out, std::future::pending())
            .await
    }

    /// As [`Executor::execute`], for a connection that can tell when its client is gone:
    /// `client_left` completes then (see [`client_left`]). A blocking command stops waiting at
    /// once (see [`Departure`]), so nothing is popped for a client that left and no task waits
    /// on for it; the connection is marked closing. `client_left` is polled only while a
    /// blocking command runs.
    pub async fn execute_watching(
        &self,
        session: &mut Session<'_>,
        state: &mut ConnectionState,
        args: &[Bytes],
        out: &mut ReplyWriter,
        client_left: impl Future<Output = ()>,
    ) -> Option<&'static CommandSpec> {
        let measure = crate::stats::Measure::start(out); // stats: INFO commandstats/errorstats
        if session.client.transaction.in_multi()
            && !args
                .first()
                .is_some_and(|name| command::multi::runs_inside_multi(name))
        {
            // Counted when EXEC runs it (see transaction::scratch), or now if refused.
            let (spec, queued) = crate::transaction::queue(session, args, out);
            if !queued {
                measure.finish(session.stats, spec, args, out); // stats
            }
            return spec;
        }
        let (spec, parsed) = match command::prepare(session, args, out) {
            Ok(prepared) => prepared,
            Err(Rejected(spec)) => {
                measure.finish(session.stats, spec, args, out); // stats
                return spec;
            }
        };
        let blocking = matches!(&parsed, Parsed::Write(write) if write.blocking().is_some());
        let _blocked = blocking.then(|| session.shared.stats.block()); // stats: blocked_clients
        let departure = Departure::default();
        let run = async {
            match self {
                Executor::Local => {
                    execute_locally(session, spec, parsed, args, out, &departure).await
                }
                Executor::Replicated(cluster) => {
                    crate::cluster::dispatch::serve(
                        session,
                        cluster,
                        &mut state.routing,
                        (spec, parsed),
                        (args, &departure),
                        out,
                    )
                    .await
                }
            }
        };
        if blocking {
            let watch = async {
                client_left.await;
                departure.note();
                std::future::pending().await
            };
            // The request first: one served at once is answered even if the client closed its
            // side right after sending it.
            tokio::select! {
                biased;
                () = run => {}
                () = watch => {}
            }
        } else {
            run.await;
        }
        if departure.happened() {
            session.client.closing = true;
        }
        measure.finish(session.stats, Some(spec), args, out); // stats
        Some(spec)
    }
}

/// Completes when the client behind `stream` is gone (end of stream or a read error). What it
/// sends meanwhile (pipelined requests behind a blocking one) is appended to `input`, up to
/// `limit` bytes in all; past that it stops reading and no longer notices a departure.
pub async fn client_left<S: AsyncRead + Unpin>(stream: &mut S, input: &mut BytesMut, limit: usize) {
    while input.len() < limit {
        input.reserve(16 * 1024);
        match stream.read_buf(input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    std::future::pending().await
}

/// A single process: every key is here and every write is applied at once.
async fn execute_locally(
    session: &mut Session<'_>,
    spec: &'static CommandSpec,
    parsed: Parsed,
    args: &[Bytes],
    out: &mut ReplyWriter,
    departure: &Departure,
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
            if write.blocking().is_some() {
                block_locally(keyspace, &write, now_ms, out, departure).await;
            } else {
                let outcome = keyspace.with_keys(write.keys().iter(), now_ms, |db| write.apply(db));
                command::write_reply(&outcome, out);
            }
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
        Parsed::Transaction(command) => {
            let state = &mut session.client.transaction;
            match command {
                TxCommand::Multi => transaction::multi(state, out),
                TxCommand::Discard => transaction::discard(state, out),
                TxCommand::Unwatch => {
                    state.unwatch();
                    out.ok();
                }
                TxCommand::Watch(keys) => transaction::watch_here(session, &keys, out),
                TxCommand::Exec => transaction::exec_here(session, out),
            }
        }
        Parsed::Script(call) => transaction::script::eval_here(session, &call, out),
    }
}

/// A blocking list command in a single process: applied like its non-blocking form; while that
/// finds nothing (answers the null array), waits for a push to one of its keys, then tries
/// again at the current time. When the timeout passes first, answers the null array; when the
/// client leaves first, nothing.
async fn block_locally(
    keyspace: &Keyspace,
    write: &Write,
    now_ms: u64,
    out: &mut ReplyWriter,
    departure: &Departure,
) {
    let Some(blocking) = write.blocking() else {
        return;
    };
    let deadline = blocking
        .timeout()
        .and_then(|timeout| Instant::now().checked_add(timeout));
    let mut now_ms = now_ms;
    loop {
        if departure.happened() {
            return;
        }
        // Subscribed before the attempt, so a push right after it is not missed.
        let pushed = keyspace.list_pushed(blocking.keys());
        let outcome = keyspace.with_keys(write.keys().iter(), now_ms, |db| write.apply(db));
        if !matches!(outcome, Ok(Frame::NullArray)) {
            command::write_reply(&outcome, out);
            return;
        }
        let timeout = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = pushed => {}
            () = timeout => {
                out.null_array();
                return;
            }
            () = departure.left() => return,
        }
        now_ms = crate::store::unix_ms();
    }
}
