//! Per-command and per-error-code counters (`INFO commandstats`, `INFO errorstats`, and their
//! `/metrics` families). A connection counts in a small local list and adds it to the shared
//! atomics once per batch, like the other [`super::LocalStats`] counters.
//!
//! A command's slot: its position in the command table, or for the subcommands Redis counts
//! apart (`client|list`, `config|get` …) a slot after the table's.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::command::{CommandSpec, specs};

/// The subcommands Redis names as `<command>|<subcommand>` in `INFO commandstats`, for the
/// container commands of the table. A subcommand not listed is counted under its command.
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "pause",
            "reply",
            "setinfo",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    (
        "cluster",
        &[
            "countkeysinslot",
            "getkeysinslot",
            "help",
            "info",
            "keyslot",
            "links",
            "myid",
            "nodes",
            "replicas",
            "shards",
            "slots",
        ],
    ),
    (
        "command",
        &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
];

/// Error codes counted in their own `/metrics` series (Redis's codes); any other is `other` there
/// (`INFO errorstats` names every code, up to [`MAX_OTHER_CODES`] distinct ones).
pub const KNOWN_ERROR_CODES: &[&str] = &[
    "ERR",
    "WRONGTYPE",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "EXECABORT",
    "NOSCRIPT",
    "BUSY",
    "BUSYKEY",
    "MOVED",
    "ASK",
    "CROSSSLOT",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "NOREPLICAS",
    "NOPROTO",
    "UNBLOCKED",
    "MISCONF",
];

/// Redis stops tracking new error codes past 128; so do we (the count still goes to
/// `total_error_replies`).
const MAX_OTHER_CODES: usize = 128;

/// Every counted name, by slot: the table's commands, then the listed subcommands.
pub struct Slots {
    names: Vec<String>,
    /// For each table position, the first slot of its subcommands and their names.
    subcommands: Vec<Option<(usize, &'static [&'static str])>>,
    /// Table addresses, sorted, with their positions (a spec is found by its address).
    by_address: Vec<(usize, usize)>,
}

pub static SLOTS: LazyLock<Slots> = LazyLock::new(|| {
    let table = specs();
    let mut names: Vec<String> = table.iter().map(|spec| spec.name.to_owned()).collect();
    let mut subcommands = vec![None; table.len()];
    for (position, spec) in table.iter().enumerate() {
        if let Some((_, subs)) = SUBCOMMANDS.iter().find(|(name, _)| *name == spec.name) {
            subcommands[position] = Some((names.len(), *subs));
            names.extend(subs.iter().map(|sub| format!("{}|{sub}", spec.name)));
        }
    }
    let mut by_address: Vec<(usize, usize)> = table
        .iter()
        .enumerate()
        .map(|(position, spec)| (address(spec), position))
        .collect();
    by_address.sort_unstable();
    Slots {
        names,
        subcommands,
        by_address,
    }
});

fn address(spec: &CommandSpec) -> usize {
    std::ptr::from_ref(spec) as usize
}

impl Slots {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of a slot, as `INFO commandstats` writes it (`get`, `client|list`).
    pub fn name(&self, slot: usize) -> &str {
        &self.names[slot]
    }

    /// The slot of a request for `spec` (its subcommand's, when Redis counts that apart).
    pub fn of(&self, spec: &'static CommandSpec, args: &[Bytes]) -> Option<usize> {
        let found = self
            .by_address
            .binary_search_by_key(&address(spec), |(address, _)| *address)
            .ok()?;
        let position = self.by_address[found].1;
        let subcommand = self.subcommands[position].zip(args.get(1));
        let counted_apart = subcommand.and_then(|((first, subs), sub)| {
            subs.iter()
                .position(|name| sub.eq_ignore_ascii_case(name.as_bytes()))
                .map(|index| first + index)
        });
        Some(counted_apart.unwrap_or(position))
    }
}

/// One command's counters: calls, time, refused and failed calls.
#[derive(Debug, Default)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub nanos: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// A snapshot of one command's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommandFigures {
    pub calls: u64,
    pub nanos: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Shared per-command and per-error-code counters.
#[derive(Debug)]
pub struct CommandStats {
    commands: Box<[CommandCounters]>,
    errors: Box<[AtomicU64]>,
    other_errors: Mutex<Vec<(String, u64)>>,
    pub total_error_replies: AtomicU64,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            commands: (0..SLOTS.len())
                .map(|_| CommandCounters::default())
                .collect(),
            errors: KNOWN_ERROR_CODES
                .iter()
                .map(|_| AtomicU64::new(0))
                .collect(),
            other_errors: Mutex::new(Vec::new()),
            total_error_replies: AtomicU64::new(0),
        }
    }
}

impl CommandStats {
    /// Every command counted since start (or `CONFIG RESETSTAT`), with its slot name.
    pub fn commands(&self) -> Vec<(&'static str, CommandFigures)> {
        let slots: &'static Slots = &SLOTS;
        self.commands
            .iter()
            .enumerate()
            .map(|(slot, counters)| {
                let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
                (
                    slots.name(slot),
                    CommandFigures {
                        calls: load(&counters.calls),
                        nanos: load(&counters.nanos),
                        rejected: load(&counters.rejected),
                        failed: load(&counters.failed),
                    },
                )
            })
            .filter(|(_, figures)| *figures != CommandFigures::default())
            .collect()
    }

    /// Error replies by code: the known codes first (in their order), then the others.
    pub fn errors(&self) -> Vec<(String, u64)> {
        let mut errors: Vec<(String, u64)> = KNOWN_ERROR_CODES
            .iter()
            .zip(self.errors.iter())
            .map(|(code, count)| ((*code).to_owned(), count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        errors.extend(self.other_errors.lock().iter().cloned());
        errors
    }

    /// What `CONFIG RESETSTAT` clears.
    pub fn reset(&self) {
        for counters in self.commands.iter() {
            for counter in [
                &counters.calls,
                &counters.nanos,
                &counters.rejected,
                &counters.failed,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        for counter in self.errors.iter() {
            counter.store(0, Ordering::Relaxed);
        }
        self.other_errors.lock().clear();
        self.total_error_replies.store(0, Ordering::Relaxed);
    }

    /// Adds a connection's batch.
    pub fn add(&self, local: &mut LocalCommandStats) {
        for (slot, figures) in local.commands.drain(..) {
            if let Some(counters) = self.commands.get(usize::from(slot)) {
                let add = |counter: &AtomicU64, value: u64| {
                    if value != 0 {
                        counter.fetch_add(value, Ordering::Relaxed);
                    }
                };
                add(&counters.calls, figures.calls);
                add(&counters.nanos, figures.nanos);
                add(&counters.rejected, figures.rejected);
                add(&counters.failed, figures.failed);
            }
        }
        if local.error_replies == 0 {
            return;
        }
        self.total_error_replies
            .fetch_add(local.error_replies, Ordering::Relaxed);
        local.error_replies = 0;
        for (counter, count) in self.errors.iter().zip(local.errors.iter_mut()) {
            if *count != 0 {
                counter.fetch_add(*count, Ordering::Relaxed);
                *count = 0;
            }
        }
        if !local.other_errors.is_empty() {
            let mut others = self.other_errors.lock();
            for (code, count) in local.other_errors.drain(..) {
                if let Some((_, total)) = others.iter_mut().find(|(known, _)| *known == code) {
                    *total += count;
                } else if others.len() < MAX_OTHER_CODES {
                    others.push((code, count));
                }
            }
        }
    }
}

/// A connection's per-command counts for the current batch: a short list (a batch seldom runs
/// more than a few different commands), searched linearly.
#[derive(Debug, Default)]
pub struct LocalCommandStats {
    commands: Vec<(u16, CommandFigures)>,
    errors: [u64; KNOWN_ERROR_CODES.len()],
    other_errors: Vec<(String, u64)>,
    error_replies: u64,
}

impl LocalCommandStats {
    pub(super) fn figures(&mut self, slot: usize) -> Option<&mut CommandFigures> {
        let slot = u16::try_from(slot).ok()?;
        let position = match self.commands.iter().position(|(known, _)| *known == slot) {
            Some(position) => position,
            None => {
                self.commands.push((slot, CommandFigures::default()));
                self.commands.len() - 1
            }
        };
        Some(&mut self.commands[position].1)
    }

    /// Counts an error reply written outside a command (a protocol error).
    pub fn error(&mut self, code: &str) {
        self.error_replies += 1;
        if let Some(index) = KNOWN_ERROR_CODES.iter().position(|known| *known == code) {
            self.errors[index] += 1;
        } else if let Some((_, count)) = self
            .other_errors
            .iter_mut()
            .find(|(known, _)| known == code)
        {
            *count += 1;
        } else {
            self.other_errors.push((code.to_owned(), 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Measure;
    use super::*;
    use crate::protocol::ReplyWriter;

    #[test]
    fn subcommands_have_their_own_slot() {
        let client = crate::command::lookup(b"client").expect("client");
        let list = SLOTS
            .of(client, &[Bytes::from("CLIENT"), Bytes::from("LIST")])
            .expect("slot");
        assert_eq!(SLOTS.name(list), "client|list");
        let unknown = SLOTS
            .of(client, &[Bytes::from("CLIENT"), Bytes::from("NOPE")])
            .expect("slot");
        assert_eq!(SLOTS.name(unknown), "client");
        let get = crate::command::lookup(b"get").expect("get");
        let slot = SLOTS
            .of(get, &[Bytes::from("GET"), Bytes::from("k")])
            .expect("slot");
        assert_eq!(SLOTS.name(slot), "get");
    }

    #[test]
    fn a_batch_is_added_once_and_cleared() {
        let stats = CommandStats::default();
        let mut local = super::super::LocalStats::default();
        let get = crate::command::lookup(b"get").expect("get");
        let args = [Bytes::from("GET"), Bytes::from("k")];
        let mut out = ReplyWriter::new(crate::protocol::Protocol::Resp2);
        for _ in 0..3 {
            let measure = Measure::start(&out);
            out.null();
            measure.finish(&mut local, Some(get), &args, &out);
        }
        let measure = Measure::start(&out);
        out.error("WRONGTYPE Operation against a key holding the wrong kind of value");
        measure.finish(&mut local, Some(get), &args, &out);
        let measure = Measure::start(&out);
        out.error("ERR wrong number of arguments for 'get' command");
        measure.finish(&mut local, Some(get), &args[..1], &out);
        stats.add(&mut local.per_command);
        let figures = stats.commands();
        assert_eq!(figures.len(), 1);
        assert_eq!(figures[0].0, "get");
        assert_eq!(
            (
                figures[0].1.calls,
                figures[0].1.failed,
                figures[0].1.rejected
            ),
            (4, 1, 1)
        );
        assert_eq!(
            stats.errors(),
            vec![("ERR".to_owned(), 1), ("WRONGTYPE".to_owned(), 1)]
        );
        assert_eq!(stats.total_error_replies.load(Ordering::Relaxed), 2);
        stats.add(&mut local.per_command);
        assert_eq!(stats.commands()[0].1.calls, 4, "the batch was cleared");
        stats.reset();
        assert!(stats.commands().is_empty() && stats.errors().is_empty());
    }
}
