//! Server-wide counters for INFO. Connections count locally and add their totals once per pipelined
//! batch, so the hot path does not bounce a shared cache line per command.

use std::sync::atomic::{AtomicU64, Ordering};

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
}

/// A connection's counters for the current batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStats {
    pub commands: u64,
    pub hits: u64,
    pub misses: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
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

impl Stats {
    pub fn add(&self, local: &mut LocalStats) {
        let add = |counter: &AtomicU64, value: u64| {
            if value != 0 {
                counter.fetch_add(value, Ordering::Relaxed);
            }
        };
        add(&self.total_commands_processed, local.commands);
        add(&self.keyspace_hits, local.hits);
        add(&self.keyspace_misses, local.misses);
        add(&self.total_net_input_bytes, local.input_bytes);
        add(&self.total_net_output_bytes, local.output_bytes);
        *local = LocalStats::default();
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
