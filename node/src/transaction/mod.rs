//! Transactions (MULTI/EXEC/WATCH) and scripts (EVAL), which both apply several commands as one
//! step that no other client's command interleaves with:
//!
//! ```text
//!  MULTI … EXEC / EVAL
//!        │
//!        ▼
//!  Scratch: the commands run on a private copy of the keys they name (copied on first use,
//!           with the digest of what each held); replies are kept, successful writes recorded
//!        │
//!        ▼
//!  Atomic { watched digests, copied digests, writes }     one Write, one log entry in cluster mode
//!        │  applied by this process (local) or by every replica (cluster), which checks:
//!        ├── a watched key changed  → aborted: EXEC answers null
//!        ├── a copied key changed   → conflict: run again on fresh copies (unseen by the client)
//!        └── otherwise              → every write applied; the kept replies are sent
//! ```
//!
//! So a transaction is never half-applied (one step, on every replica), reads inside it are
//! linearizable with its writes (their copies are checked when it commits), and a script's
//! effects, not the script, are replicated: replicas never run Lua.
//!
//! Deviation from Redis, documented in docs/compatibility.md: WATCH compares values, so a
//! write that leaves a watched key exactly as it was (same value, type and expiry) does not
//! abort the transaction. A read of a watched key that sees another value than the watched
//! one marks the transaction as failed (see `command::run_read`), so a value changed and
//! changed back between WATCH and EXEC never lets a decision made on the other value apply.

pub mod scratch;
pub mod script;

use bytes::Bytes;

use crate::command::atomic::{self, Atomic, Outcome};
use crate::command::multi::{MAX_QUEUED_BYTES, TransactionState};
use crate::command::{self, Rejected, Session};
use crate::protocol::ReplyWriter;
use crate::pubsub::Held;
use scratch::{Caller, Scratch};

/// Runs before a transaction or script gives up on conflicting writers (each conflict means
/// another client changed one of its keys meanwhile, so some client always progresses).
pub const MAX_ATTEMPTS: usize = 64;

/// The answer when [`MAX_ATTEMPTS`] runs all conflicted.
pub const TOO_BUSY: &str =
    "TRYAGAIN the keys of this transaction changed under every attempt; nothing was applied, retry";

/// Inside MULTI: checks the request as Redis does before queuing it (name, arity,
/// authentication) and queues it; a refused request makes EXEC fail with EXECABORT. Returns
/// the command (when it exists) and whether it was queued.
pub fn queue(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> (Option<&'static command::CommandSpec>, bool) {
    match command::check(session, args, out) {
        Ok(spec) => {
            let state = &mut session.client.transaction;
            let size: usize = args.iter().map(|arg| arg.len() + 16).sum();
            if state.queued_bytes + size > MAX_QUEUED_BYTES {
                state.failed = true;
                out.error(&format!(
                    "ERR the transaction's queued commands exceed {} MiB; it is discarded at EXEC",
                    MAX_QUEUED_BYTES >> 20
                ));
                return (Some(spec), false);
            }
            state.queued_bytes += size;
            if let Some(queued) = &mut state.queued {
                queued.push(args.to_vec());
            }
            out.simple("QUEUED");
            (Some(spec), true)
        }
        Err(Rejected(spec)) => {
            session.client.transaction.failed = true;
            (spec, false)
        }
    }
}

pub fn multi(state: &mut TransactionState, out: &mut ReplyWriter) {
    if state.in_multi() {
        out.error("ERR MULTI calls can not be nested");
        return;
    }
    state.queued = Some(Vec::new());
    state.failed = false;
    out.ok();
}

pub fn discard(state: &mut TransactionState, out: &mut ReplyWriter) {
    if !state.in_multi() {
        out.error("ERR DISCARD without MULTI");
        return;
    }
    state.reset();
    out.ok();
}

/// WATCH on keys held here: remembers the digest of each.
pub fn watch_here(session: &mut Session<'_>, keys: &[Bytes], out: &mut ReplyWriter) {
    if session.client.transaction.in_multi() {
        out.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    for key in keys {
        let known = session
            .client
            .transaction
            .watched
            .iter()
            .any(|guard| guard.key == key[..]);
        if !known {
            let digest = atomic::digest_of(&session.shared.keyspace, key, session.now_ms);
            session
                .client
                .transaction
                .watched
                .push(atomic::guard(key, digest));
        }
    }
    out.ok();
}

/// What EXEC has to run, once the checks that need no keyspace passed.
pub struct Queued {
    pub commands: Vec<Vec<Bytes>>,
    pub watched: Vec<atomic::Guard>,
}

/// EXEC's first checks: no MULTI, a refused request, a watched key read changed. Takes the
/// transaction out of the connection (EXEC always ends it); `None` when answered here.
pub fn take_for_exec(state: &mut TransactionState, out: &mut ReplyWriter) -> Option<Queued> {
    if !state.in_multi() {
        out.error("ERR EXEC without MULTI");
        return None;
    }
    let taken = std::mem::take(state);
    if taken.failed {
        out.error("EXECABORT Transaction discarded because of previous errors.");
        return None;
    }
    if taken.dirty {
        out.null_array();
        return None;
    }
    Some(Queued {
        commands: taken.queued.unwrap_or_default(),
        watched: taken.watched,
    })
}

/// Runs the queued commands on a fresh copy; returns the replies (as EXEC's array), the step
/// that commits them and the messages to deliver once it did. `one_slot`: cluster mode (see
/// [`Scratch::new`]).
pub fn run_queued(
    session: &mut Session<'_>,
    queued: &Queued,
    one_slot: Option<Option<u16>>,
    protocol: crate::protocol::Protocol,
) -> (ReplyWriter, Atomic, Held) {
    let keyspace = &session.shared.keyspace;
    let mut scratch =
        Scratch::new(keyspace, session.now_ms, one_slot).running_scripts(script::run_on);
    let mut replies = ReplyWriter::new(protocol);
    replies.array_header(queued.commands.len());
    for args in &queued.commands {
        scratch.run(session, args, Caller::Exec, &mut replies);
    }
    let (atomic, held) = scratch.finish(queued.watched.clone());
    (replies, atomic, held)
}

/// EXEC in a single process.
pub fn exec_here(session: &mut Session<'_>, out: &mut ReplyWriter) {
    let Some(queued) = take_for_exec(&mut session.client.transaction, out) else {
        return;
    };
    for _ in 0..MAX_ATTEMPTS {
        let (replies, atomic, held) = run_queued(session, &queued, None, out.protocol());
        match commit_here(session, &atomic) {
            Outcome::Aborted => return out.null_array(),
            Outcome::Conflict => session.now_ms = crate::store::unix_ms(),
            Outcome::Applied => {
                held.deliver(&session.shared.pubsub);
                out.buffer_mut().extend_from_slice(replies.buffer());
                return;
            }
        }
    }
    out.error(TOO_BUSY);
}

/// Applies an [`Atomic`] to this process's keyspace.
pub fn commit_here(session: &Session<'_>, atomic: &Atomic) -> Outcome {
    let keyspace = &session.shared.keyspace;
    if !atomic.writes.is_empty() {
        // Evicting first, as before any write; a transaction is not refused for memory.
        let _ = keyspace.make_room(session.now_ms);
    }
    let outcome = keyspace.with_keys(atomic.keys().iter(), session.now_ms, |db| atomic.apply(db));
    match outcome.ok().as_ref().and_then(Outcome::of) {
        Some(outcome) => outcome,
        None => Outcome::Conflict,
    }
}
