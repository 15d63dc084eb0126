//! Server-wide counters for INFO and `/metrics`. Connections count locally ([`LocalStats`]) and add
//! their totals once per pipelined batch, so the hot path does not bounce a shared cache line per
//! command.

pub mod commands;
mod leadership;
mod measure;
pub mod process;
pub mod sampler;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use commands::{CommandStats, LocalCommandStats};
pub use leadership::Leadership;
pub use measure::Measure;
pub use sampler::Instantaneous;

use crate::store::Keyspace;

#[derive(Debug, Default)]
pub struct Stats {
    pub total_commands_processed: AtomicU64,
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub total_net_input_bytes: AtomicU64,
    pub total_net_output_bytes: AtomicU64,
    pub evicted_keys_by_commands: AtomicU64,
    /// Calls, time and errors by command, and error replies by code.
    pub per_command: CommandStats,
    /// Clients waiting in a blocking command now (a gauge).
    pub blocked_clients: AtomicU64,
    pub instantaneous: Instantaneous,
    /// Highest `used_memory` seen (sampled every 100 ms and at every INFO).
    peak_memory: AtomicU64,
    /// The keyspace's expired and evicted totals at the last `CONFIG RESETSTAT` (the keyspace
    /// keeps its own totals; INFO shows the difference).
    expired_keys_at_reset: AtomicU64,
    evicted_keys_at_reset: AtomicU64,
}

/// A connection's counters for the current batch.
#[derive(Debug, Default)]
pub struct LocalStats {
    pub commands: u64,
    pub hits: u64,
    pub misses: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub per_command: LocalCommandStats,
}

impl LocalStats {
    pub fn hit_or_miss(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
    }
}

/// Counts a client as blocked while it lives.
pub struct Blocked<'a>(&'a AtomicU64);

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    pub fn add(&self, local: &mut LocalStats) {
        let add = |counter: &AtomicU64, value: &mut u64| {
            if *value != 0 {
                counter.fetch_add(*value, Ordering::Relaxed);
                *value = 0;
            }
        };
        add(&self.total_commands_processed, &mut local.commands);
        add(&self.keyspace_hits, &mut local.hits);
        add(&self.keyspace_misses, &mut local.misses);
        add(&self.total_net_input_bytes, &mut local.input_bytes);
        add(&self.total_net_output_bytes, &mut local.output_bytes);
        self.per_command.add(&mut local.per_command);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Marks a client as blocked until the returned guard is dropped.
    pub fn block(&self) -> Blocked<'_> {
        self.blocked_clients.fetch_add(1, Ordering::Relaxed);
        Blocked(&self.blocked_clients)
    }

    /// Expired keys (by the sweep and on access) since start or `CONFIG RESETSTAT`.
    pub fn expired_keys(&self, keyspace: &Keyspace) -> u64 {
        keyspace
            .expired_keys()
            .saturating_sub(Self::get(&self.expired_keys_at_reset))
    }

    /// Keys evicted for `maxmemory` since start or `CONFIG RESETSTAT`.
    pub fn evicted_keys(&self, keyspace: &Keyspace) -> u64 {
        keyspace
            .evicted_keys()
            .saturating_sub(Self::get(&self.evicted_keys_at_reset))
    }

    /// The memory peak, counting `used` (the current figure) in.
    pub fn peak_memory(&self, used: u64) -> u64 {
        self.peak_memory
            .fetch_max(used, Ordering::Relaxed)
            .max(used)
    }

    /// One sample of the instantaneous figures and the memory peak.
    pub fn sample(&self, keyspace: &Keyspace, now: Instant) {
        self.instantaneous.sample(
            now,
            Self::get(&self.total_commands_processed),
            Self::get(&self.total_net_input_bytes),
            Self::get(&self.total_net_output_bytes),
        );
        self.peak_memory(keyspace.used_memory());
    }

    /// `CONFIG RESETSTAT`: the counters Redis resets (not gauges such as clients or memory).
    pub fn reset(&self, keyspace: &Keyspace) {
        for counter in [
            &self.total_commands_processed,
            &self.total_connections_received,
            &self.rejected_connections,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.total_net_input_bytes,
            &self.total_net_output_bytes,
            &self.evicted_keys_by_commands,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.expired_keys_at_reset
            .store(keyspace.expired_keys(), Ordering::Relaxed);
        self.evicted_keys_at_reset
            .store(keyspace.evicted_keys(), Ordering::Relaxed);
        self.per_command.reset();
        self.instantaneous.reset();
    }
}
