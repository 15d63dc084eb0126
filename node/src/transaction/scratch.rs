//! [`Scratch`]: the private copy a transaction or script runs on. Each key is copied from the
//! live keyspace the first time a command names it, with the digest of what it held; the
//! commands then read and write the copy exactly as they would the live keyspace, and every
//! write that succeeded is kept (resolved, so it applies alike anywhere) for the
//! [`Atomic`] that commits them.

use std::cell::RefCell;
use std::collections::HashSet;

use bytes::Bytes;

use crate::command::atomic::{Atomic, Guard};
use crate::command::{self, Flags, Parsed, ReadContext, Session};
use crate::eviction::EvictionPolicy;
use crate::protocol::ReplyWriter;
use crate::pubsub::Held;
use crate::store::fingerprint::fingerprint;
use crate::store::{Keyspace, key_slot};

/// Who runs commands on the copy: a transaction's EXEC, or a script's `redis.call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Exec,
    Script { read_only: bool },
}

/// Errors worded as Redis words them.
pub const CROSS_SLOT_SCRIPT: &str =
    "ERR Script attempted to access keys that do not hash to the same slot";
const NOT_FROM_SCRIPT: &str = "ERR This Redis command is not allowed from script";
const WRITE_FROM_READ_ONLY: &str = "ERR Write commands are not allowed from read-only scripts.";
const FLUSH_INSIDE: &str = "ERR FLUSHALL and FLUSHDB are not supported inside MULTI or scripts here; send them on their own";

pub struct Scratch<'a> {
    live: &'a Keyspace,
    /// Always `Some` until dropped (then emptied and kept for the thread's next copy).
    copy: Option<Keyspace>,
    pub now_ms: u64,
    copied: Vec<Guard>,
    seen: HashSet<Vec<u8>>,
    writes: Vec<crate::command::Write>,
    /// Cluster mode: every key must hash to one slot (`Some(None)` until the first key).
    slot: Option<Option<u16>>,
    /// Runs a script queued in a transaction on this copy (see [`Scratch::running_scripts`]).
    scripts: Option<NestedScript>,
    /// Messages published, delivered once the run commits.
    held: Held,
}

/// How a transaction runs an EVAL it queued (on the same copy).
pub type NestedScript =
    fn(&mut Scratch<'_>, &mut Session<'_>, &command::eval::ScriptCall, &mut ReplyWriter);

impl<'a> Scratch<'a> {
    /// A copy over `live` at the clock `now_ms`. `one_slot`: cluster mode, where every key
    /// must hash to one slot (`Some(slot)` when already known).
    pub fn new(live: &'a Keyspace, now_ms: u64, one_slot: Option<Option<u16>>) -> Self {
        Scratch {
            live,
            copy: Some(spare_copy()),
            now_ms,
            copied: Vec::new(),
            seen: HashSet::new(),
            writes: Vec::new(),
            slot: one_slot,
            scripts: None,
            held: Held::default(),
        }
    }

    /// Lets the commands run on this copy include scripts (EVAL inside MULTI), run by `run`.
    pub fn running_scripts(mut self, run: NestedScript) -> Self {
        self.scripts = Some(run);
        self
    }

    fn copy(&self) -> &Keyspace {
        self.copy
            .as_ref()
            .unwrap_or_else(|| unreachable!("the copy is taken only when the scratch is dropped"))
    }

    /// The slot of the keys named so far (cluster mode).
    pub fn slot(&self) -> Option<u16> {
        self.slot.flatten()
    }

    /// Copies `key` in (once), checking the one-slot rule.
    fn bring(&mut self, key: &[u8]) -> Result<(), &'static str> {
        if let Some(slot) = &mut self.slot {
            let key_slot = key_slot(key);
            match slot {
                None => *slot = Some(key_slot),
                Some(known) if *known != key_slot => return Err(CROSS_SLOT_SCRIPT),
                Some(_) => {}
            }
        }
        if !self.seen.insert(key.to_vec()) {
            return Ok(());
        }
        let now_ms = self.now_ms;
        let (entry, digest) = self.live.with_key(key, |store| {
            let entry = store.peek(key, now_ms).cloned();
            let digest = fingerprint(entry.as_ref());
            (entry, digest)
        });
        if let Some(entry) = entry {
            self.copy().insert_entries([entry]);
        }
        self.copied.push(Guard {
            key: key.to_vec(),
            digest,
        });
        Ok(())
    }

    /// Runs one request on the copy, writing its reply (or error) to `out`. A script inside a
    /// transaction (EVAL queued after MULTI) runs on the same copy.
    pub fn run(
        &mut self,
        session: &mut Session<'_>,
        args: &[Bytes],
        caller: Caller,
        out: &mut ReplyWriter,
    ) {
        let script = matches!(caller, Caller::Script { .. });
        if script {
            // Redis words these two its own way inside scripts.
            match args.first().and_then(|name| command::find(name)) {
                None => return out.error("ERR Unknown Redis command called from script"),
                Some(spec) if !spec.accepts(args.len()) => {
                    return out.error("ERR Wrong number of args calling Redis command from script");
                }
                Some(_) => {}
            }
        }
        // Counted in INFO commandstats like a client's request (as Redis counts the commands
        // of a transaction and a script's calls).
        let measure = crate::stats::Measure::start(out);
        let (spec, parsed) = match command::prepare(session, args, out) {
            Ok(prepared) => prepared,
            Err(command::Rejected(spec)) => {
                measure.finish(session.stats, spec, args, out);
                return;
            }
        };
        self.run_parsed(session, (spec, parsed), args, caller, out);
        measure.finish(session.stats, Some(spec), args, out);
    }

    fn run_parsed(
        &mut self,
        session: &mut Session<'_>,
        (spec, parsed): (&'static command::CommandSpec, Parsed),
        args: &[Bytes],
        caller: Caller,
        out: &mut ReplyWriter,
    ) {
        let script = matches!(caller, Caller::Script { .. });
        if script && spec.flags.contains(Flags::NOSCRIPT) {
            out.error(NOT_FROM_SCRIPT);
            return;
        }
        match parsed {
            Parsed::Read(read) => {
                let keys: Vec<&[u8]> = read.keys().iter().collect();
                if keys.is_empty() {
                    // Keyless reads (DBSIZE, KEYS, SCAN, RANDOMKEY) look at the live keyspace.
                    command::run_read(session, &read, out);
                    return;
                }
                for key in keys {
                    if let Err(error) = self.bring(key) {
                        out.error(error);
                        return;
                    }
                }
                let mut context = ReadContext {
                    keyspace: self.copy(),
                    stats: session.stats,
                    now_ms: self.now_ms,
                };
                if let Err(error) = read.run(&mut context, out) {
                    out.error(&error.to_string());
                }
            }
            Parsed::Write(write) => {
                if caller == (Caller::Script { read_only: true }) {
                    out.error(WRITE_FROM_READ_ONLY);
                    return;
                }
                for key in write.keys().iter() {
                    if let Err(error) = self.bring(key) {
                        out.error(error);
                        return;
                    }
                }
                let write = write.resolve(self.copy(), self.now_ms);
                let outcome = self
                    .copy()
                    .with_keys(write.keys().iter(), self.now_ms, |db| write.apply(db));
                if outcome.is_ok() {
                    self.writes.push(write);
                }
                command::write_reply(&outcome, out);
            }
            Parsed::Flush => out.error(FLUSH_INSIDE),
            Parsed::Server(handler) => {
                // A published message is held until the run commits.
                let outer = session
                    .client
                    .held_messages
                    .replace(std::mem::take(&mut self.held));
                command::run_server(handler, session, args, out);
                self.held =
                    std::mem::replace(&mut session.client.held_messages, outer).unwrap_or_default();
            }
            Parsed::Script(call) if caller == Caller::Exec && self.scripts.is_some() => {
                if let Some(run) = self.scripts {
                    run(self, session, &call, out);
                }
            }
            // UNWATCH queued in a transaction does nothing then, as in Redis (EXEC unwatches).
            Parsed::Transaction(crate::command::multi::TxCommand::Unwatch) if !script => out.ok(),
            Parsed::Script(_) | Parsed::Transaction(_) | Parsed::Cluster => out.error(if script {
                NOT_FROM_SCRIPT
            } else {
                "ERR Command not allowed inside a transaction"
            }),
        }
    }

    /// Whether the run wrote anything.
    pub fn wrote(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The step that commits what the run did, guarded by `watched`, and the messages it
    /// published, to deliver once that step applied.
    pub fn finish(mut self, watched: Vec<Guard>) -> (Atomic, Held) {
        let atomic = Atomic {
            watched,
            copied: std::mem::take(&mut self.copied),
            writes: std::mem::take(&mut self.writes),
        };
        (atomic, std::mem::take(&mut self.held))
    }
}

thread_local! {
    /// An emptied copy kept for this thread's next transaction or script: allocating a keyspace
    /// (its shards) costs more than a short script.
    static SPARE: RefCell<Option<Keyspace>> = const { RefCell::new(None) };
}

fn spare_copy() -> Keyspace {
    SPARE
        .with(|spare| spare.borrow_mut().take())
        .unwrap_or_else(|| Keyspace::new(0, EvictionPolicy::NoEviction))
}

impl Drop for Scratch<'_> {
    /// Empties the copy and keeps it for the next one. Every key in it was brought by
    /// [`Scratch::bring`] (writes name only keys brought first), so only those keys' shards hold
    /// anything; a copy that still accounts for memory afterwards is not kept.
    fn drop(&mut self) {
        let Some(copy) = self.copy.take() else {
            return;
        };
        let shards = self
            .seen
            .iter()
            .fold(0u64, |shards, key| shards | 1 << Keyspace::shard_of(key));
        for index in (0..64).filter(|index| shards & (1 << index) != 0) {
            copy.with_shard(index, |store| store.remove_where(|_| true));
        }
        if copy.used_memory() == 0 {
            let _ = SPARE.try_with(|spare| *spare.borrow_mut() = Some(copy));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Entry;

    fn spare_keys() -> Option<usize> {
        SPARE.with(|spare| spare.borrow().as_ref().map(|copy| copy.dbsize(0)))
    }

    #[test]
    fn a_dropped_copy_is_emptied_and_kept_for_the_next_run() {
        let live = Keyspace::new(0, EvictionPolicy::NoEviction);
        live.insert_entries([
            Entry::new(b"a", b"1", 0, 0),
            Entry::new(b"b", b"2", 10_000, 0),
            Entry::new(b"{a}c", b"3", 0, 0),
        ]);
        let mut scratch = Scratch::new(&live, 5, None);
        for key in [&b"a"[..], b"b", b"{a}c", b"absent"] {
            scratch.bring(key).unwrap();
        }
        assert_eq!(scratch.copy().dbsize(5), 3);
        drop(scratch);
        assert_eq!(spare_keys(), Some(0), "emptied and kept");

        // The next copy is that one, and sees only what it brings.
        let mut next = Scratch::new(&live, 5, None);
        assert_eq!(spare_keys(), None, "taken");
        next.bring(b"b").unwrap();
        assert_eq!(next.copy().dbsize(5), 1);
        assert!(
            next.copy()
                .with_key(b"a", |store| store.peek(b"a", 5).is_none())
        );
        let (atomic, _) = next.finish(Vec::new());
        assert_eq!(atomic.copied.len(), 1);
        assert_eq!(spare_keys(), Some(0), "kept again after finish");
    }
}
