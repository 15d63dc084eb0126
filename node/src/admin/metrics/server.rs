//! The figures of `INFO` in `/metrics`, named by Prometheus's conventions (`_total` counters,
//! `_bytes`, `_seconds`) after what redis_exporter calls them, with a `ringcache_` prefix.
//! Labels are fixed categories: command names from the command table, error codes from
//! [`KNOWN_ERROR_CODES`] (any other code is `other`).

use std::fmt::Write;

use super::{counter, float_family, gauge};
use crate::shared::Shared;
use crate::stats::Stats;
use crate::stats::commands::KNOWN_ERROR_CODES;
use crate::stats::process;

pub fn render(text: &mut String, shared: &Shared) {
    let stats = &shared.stats;
    let _ = writeln!(
        text,
        "# HELP ringcache_build_info Always 1: this node's version, the Redis version it reports, and its mode.\n\
         # TYPE ringcache_build_info gauge\n\
         ringcache_build_info{{version=\"{}\",redis_version=\"{}\",mode=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_COMPATIBLE_VERSION,
        if shared.config.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        },
    );
    gauge(
        text,
        "ringcache_uptime_seconds",
        "Seconds since the node started.",
        &[("", shared.started_at.elapsed().as_secs())],
    );
    gauge(
        text,
        "ringcache_blocked_clients",
        "Clients waiting in a blocking command (BLPOP and kin).",
        &[("", Stats::get(&stats.blocked_clients))],
    );
    gauge(
        text,
        "ringcache_max_clients",
        "The maxclients setting.",
        &[("", shared.settings.read().maxclients as u64)],
    );
    let used = shared.keyspace.used_memory();
    let rss = process::resident_memory();
    gauge(
        text,
        "ringcache_used_memory_peak_bytes",
        "Highest used_memory seen since start.",
        &[("", stats.peak_memory(used))],
    );
    gauge(
        text,
        "ringcache_used_memory_rss_bytes",
        "Resident set size of the process.",
        &[("", rss)],
    );
    gauge(
        text,
        "ringcache_max_memory_bytes",
        "The maxmemory setting (0: no limit).",
        &[("", shared.keyspace.maxmemory())],
    );
    gauge(
        text,
        "ringcache_total_system_memory_bytes",
        "Physical memory of the machine.",
        &[("", process::total_system_memory())],
    );
    float_family(
        text,
        "gauge",
        "ringcache_mem_fragmentation_ratio",
        "Resident set size divided by used_memory (0 without data).",
        &[(
            "",
            if used == 0 {
                0.0
            } else {
                rss as f64 / used as f64
            },
        )],
    );
    gauge(
        text,
        "ringcache_instantaneous_ops_per_sec",
        "Commands per second over the last 1.6 s (INFO's instantaneous_ops_per_sec).",
        &[("", stats.instantaneous.ops_per_sec())],
    );
    float_family(
        text,
        "gauge",
        "ringcache_instantaneous_input_kbps",
        "KiB per second read from clients over the last 1.6 s.",
        &[("", stats.instantaneous.input_kbps())],
    );
    float_family(
        text,
        "gauge",
        "ringcache_instantaneous_output_kbps",
        "KiB per second written to clients over the last 1.6 s.",
        &[("", stats.instantaneous.output_kbps())],
    );
    let counters: [(&str, &str, u64); 9] = [
        (
            "ringcache_connections_received_total",
            "Client connections accepted.",
            Stats::get(&stats.total_connections_received),
        ),
        (
            "ringcache_rejected_connections_total",
            "Client connections refused for maxclients.",
            Stats::get(&stats.rejected_connections),
        ),
        (
            "ringcache_net_input_bytes_total",
            "Bytes read from clients.",
            Stats::get(&stats.total_net_input_bytes),
        ),
        (
            "ringcache_net_output_bytes_total",
            "Bytes written to clients.",
            Stats::get(&stats.total_net_output_bytes),
        ),
        (
            "ringcache_keyspace_hits_total",
            "Key lookups of read commands that found the key.",
            Stats::get(&stats.keyspace_hits),
        ),
        (
            "ringcache_keyspace_misses_total",
            "Key lookups of read commands that did not find the key.",
            Stats::get(&stats.keyspace_misses),
        ),
        (
            "ringcache_expired_keys_total",
            "Keys deleted because their expiry passed (by the sweep or on access).",
            stats.expired_keys(&shared.keyspace),
        ),
        (
            "ringcache_evicted_keys_total",
            "Keys evicted to stay within maxmemory.",
            stats.evicted_keys(&shared.keyspace),
        ),
        (
            "ringcache_error_replies_total",
            "Error replies sent to clients.",
            Stats::get(&stats.per_command.total_error_replies),
        ),
    ];
    for (name, help, value) in counters {
        counter(text, name, help, &[("", value)]);
    }
    let summary = shared.keyspace.summary(crate::store::unix_ms());
    gauge(
        text,
        "ringcache_keys",
        "Keys held (db0).",
        &[("", summary.keys)],
    );
    gauge(
        text,
        "ringcache_keys_expiring",
        "Keys held with an expiry (db0).",
        &[("", summary.volatile_keys)],
    );
    let cpu = process::cpu_times();
    float_family(
        text,
        "counter",
        "ringcache_cpu_user_seconds_total",
        "CPU time of the process in user mode.",
        &[("", cpu.user)],
    );
    float_family(
        text,
        "counter",
        "ringcache_cpu_sys_seconds_total",
        "CPU time of the process in system mode.",
        &[("", cpu.system)],
    );
    commands(text, shared);
    if let Some(leadership) = crate::info::leadership(shared) {
        gauge(
            text,
            "ringcache_partitions",
            "Hosted partitions by this member's part in them (INFO replication's ringcache_partitions_*).",
            &[
                ("state=\"leading\"", leadership.leading),
                ("state=\"following\"", leadership.following),
                ("state=\"electing\"", leadership.electing),
            ],
        );
        gauge(
            text,
            "ringcache_connected_replicas",
            "Other members replicating a partition led here (INFO's connected_slaves).",
            &[("", leadership.replicas)],
        );
    }
}

/// Per-command and per-error-code families.
fn commands(text: &mut String, shared: &Shared) {
    let figures = shared.stats.per_command.commands();
    let labels: Vec<String> = figures
        .iter()
        .map(|(name, _)| format!("command=\"{name}\""))
        .collect();
    let series = |value: fn(&crate::stats::commands::CommandFigures) -> u64| -> Vec<(&str, u64)> {
        labels
            .iter()
            .zip(&figures)
            .map(|(label, (_, figures))| (label.as_str(), value(figures)))
            .collect()
    };
    counter(
        text,
        "ringcache_command_calls_total",
        "Calls by command (INFO commandstats calls; subcommands as client|list).",
        &series(|figures| figures.calls),
    );
    let seconds: Vec<(&str, f64)> = labels
        .iter()
        .zip(&figures)
        .map(|(label, (_, figures))| (label.as_str(), figures.nanos as f64 / 1e9))
        .collect();
    float_family(
        text,
        "counter",
        "ringcache_command_duration_seconds_total",
        "Time spent serving each command, from lookup to reply (replication and blocking waits included).",
        &seconds,
    );
    counter(
        text,
        "ringcache_command_rejected_calls_total",
        "Calls refused before the command ran (arity, authentication, redirection, OOM), by command.",
        &series(|figures| figures.rejected),
    );
    counter(
        text,
        "ringcache_command_failed_calls_total",
        "Calls that ran and answered an error, by command.",
        &series(|figures| figures.failed),
    );
    let mut by_code: Vec<(String, u64)> = KNOWN_ERROR_CODES
        .iter()
        .map(|code| (format!("code=\"{code}\""), 0))
        .collect();
    let mut other = 0;
    for (code, count) in shared.stats.per_command.errors() {
        match KNOWN_ERROR_CODES.iter().position(|known| *known == code) {
            Some(index) => by_code[index].1 += count,
            None => other += count,
        }
    }
    by_code.push(("code=\"other\"".to_owned(), other));
    counter(
        text,
        "ringcache_errors_total",
        "Error replies by error code (INFO errorstats; codes outside a fixed set are \"other\").",
        &by_code
            .iter()
            .map(|(label, count)| (label.as_str(), *count))
            .collect::<Vec<_>>(),
    );
}
