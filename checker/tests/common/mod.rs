//! A simulated Redis and simulated clients, to produce histories whose verdict is known.
//!
//! [`simulate`] runs planned operations against a real (sequential) key-value store with Redis's
//! rules: each takes effect at one instant, `effect_at`, so the history of its replies is
//! linearizable unless a [`Planned::bug`] says otherwise. A lost reply is recorded as an unknown
//! outcome; the operation then took effect at `effect_at` (possibly after the client gave up) or
//! not at all.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ringcache_checker::{Operation, Record};

/// A small deterministic random source (SplitMix64): the tests must not depend on a seed source.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Get,
    Set(Vec<u8>),
    Del,
    IncrBy(i64),
}

/// A planned operation and when it happens.
#[derive(Debug, Clone)]
pub struct Planned {
    pub key: Vec<u8>,
    pub command: Command,
    pub invoked_at: u64,
    pub completed_at: u64,
    /// When the store applies it: within `[invoked_at, completed_at]` unless the reply is lost.
    pub effect_at: u64,
    pub reply_lost: bool,
    /// With a lost reply: whether the store applied it at all.
    pub applied: bool,
    /// A buggy store: a write or an increment is acknowledged (with the right reply) but not applied.
    pub bug: bool,
}

/// Redis's parse of a stored value for `INCRBY`: canonical decimal `i64`s only.
fn integer(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let value: i64 = text.parse().ok()?;
    (value.to_string() == text).then_some(value)
}

/// Runs `plan` against a store in `effect_at` order and returns what the clients saw, in plan order.
/// Commands Redis would refuse (`INCR` of a non-integer, an overflow) are left out: the client saw an
/// error, and a recorder drops those ([`ringcache_checker::HistoryRecorder::failed`]).
pub fn simulate(plan: &[Planned]) -> Vec<Record> {
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&index| (plan[index].effect_at, index));
    let mut store: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut records: Vec<Option<Record>> = vec![None; plan.len()];
    for index in order {
        let planned = &plan[index];
        let unknown = |operation| {
            Some(Record {
                key: planned.key.clone(),
                operation,
                invoked_at: planned.invoked_at,
                completed_at: None,
            })
        };
        let known = |operation| {
            Some(Record {
                key: planned.key.clone(),
                operation,
                invoked_at: planned.invoked_at,
                completed_at: Some(planned.completed_at),
            })
        };
        if planned.reply_lost && !planned.applied {
            records[index] = match &planned.command {
                Command::Get => unknown(Operation::Read(None)),
                Command::Set(value) => unknown(Operation::Write(Some(value.clone()))),
                Command::Del => unknown(Operation::Write(None)),
                &Command::IncrBy(by) => unknown(Operation::Increment { by, result: None }),
            };
            continue;
        }
        let operation = match &planned.command {
            Command::Get => Operation::Read(store.get(&planned.key).cloned()),
            Command::Set(value) => {
                if !planned.bug {
                    store.insert(planned.key.clone(), value.clone());
                }
                Operation::Write(Some(value.clone()))
            }
            Command::Del => {
                if !planned.bug {
                    store.remove(&planned.key);
                }
                Operation::Write(None)
            }
            &Command::IncrBy(by) => {
                let current = match store.get(&planned.key) {
                    None => Some(0),
                    Some(bytes) => integer(bytes),
                };
                match current.and_then(|current| current.checked_add(by)) {
                    Some(sum) => {
                        if !planned.bug {
                            store.insert(planned.key.clone(), sum.to_string().into_bytes());
                        }
                        Operation::Increment {
                            by,
                            result: Some(sum),
                        }
                    }
                    // Redis answered an error: the client records the command as failed.
                    None if !planned.reply_lost => continue,
                    None => Operation::Increment { by, result: None },
                }
            }
        };
        records[index] = if planned.reply_lost {
            match operation {
                Operation::Increment { by, .. } => {
                    unknown(Operation::Increment { by, result: None })
                }
                Operation::Read(_) => unknown(Operation::Read(None)),
                write => unknown(write),
            }
        } else {
            known(operation)
        };
    }
    records.into_iter().flatten().collect()
}

/// What a key is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// GET, SET of unique byte values, DEL.
    Register,
    /// GET, INCR, some INCRBY, some SET of a number, a few DEL.
    Counter,
    /// Both on one key: SETs of bytes make some INCRs fail.
    Mixed,
    /// GET, INCR and INCRBY of a positive amount only: the value never goes down.
    PlainCounter,
    /// GET and INCR only.
    Incr,
}

/// Concurrent clients, each running one command at a time.
#[derive(Debug, Clone)]
pub struct Workload {
    pub clients: usize,
    pub operations: usize,
    pub keys: Vec<KeyUse>,
    /// Share of operations whose reply is lost.
    pub unknown_percent: u64,
    pub seed: u64,
}

impl Workload {
    /// The plan: latencies of 1–100 units with a tail to 1 000, effects at a random instant inside
    /// the interval; a lost reply's effect (half the time none) lands up to three latencies after
    /// the call, while the client has moved on after one latency.
    pub fn plan(&self) -> Vec<Planned> {
        let mut random = Random(self.seed);
        let mut plan = Vec::with_capacity(self.operations);
        let mut clock: Vec<u64> = (0..self.clients).map(|_| random.below(10)).collect();
        let per_client = self.operations / self.clients;
        for sequence in 0..per_client {
            for (client, now) in clock.iter_mut().enumerate() {
                let key_index = random.below(self.keys.len() as u64) as usize;
                let command = command(&mut random, self.keys[key_index], client, sequence);
                let latency = if random.percent(5) {
                    100 + random.below(900)
                } else {
                    1 + random.below(100)
                };
                let reply_lost = random.percent(self.unknown_percent);
                let effect_at = *now
                    + if reply_lost {
                        random.below(3 * latency + 1)
                    } else {
                        random.below(latency + 1)
                    };
                plan.push(Planned {
                    key: format!("key{key_index}").into_bytes(),
                    command,
                    invoked_at: *now,
                    completed_at: *now + latency,
                    effect_at,
                    reply_lost,
                    applied: random.percent(50),
                    bug: false,
                });
                *now += latency + random.below(20);
            }
        }
        plan
    }
}

fn command(random: &mut Random, key_use: KeyUse, client: usize, sequence: usize) -> Command {
    let draw = random.below(100);
    let unique = || format!("c{client}-{sequence}").into_bytes();
    match key_use {
        KeyUse::Register => match draw {
            0..50 => Command::Get,
            50..90 => Command::Set(unique()),
            _ => Command::Del,
        },
        KeyUse::Counter => match draw {
            0..45 => Command::Get,
            45..85 => Command::IncrBy(1),
            85..92 => Command::IncrBy([2, 5, -3][random.below(3) as usize]),
            92..97 => Command::Set(random.below(1000).to_string().into_bytes()),
            _ => Command::Del,
        },
        KeyUse::Mixed => match draw {
            0..40 => Command::Get,
            40..55 => Command::Set(unique()),
            55..65 => Command::Set(random.below(100).to_string().into_bytes()),
            65..90 => Command::IncrBy(1),
            _ => Command::Del,
        },
        KeyUse::PlainCounter => match draw {
            0..50 => Command::Get,
            50..95 => Command::IncrBy(1),
            _ => Command::IncrBy([2, 5][random.below(2) as usize]),
        },
        KeyUse::Incr => match draw {
            0..50 => Command::Get,
            _ => Command::IncrBy(1),
        },
    }
}
