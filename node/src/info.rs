//! The text of `INFO`, with Redis's section and field names where they exist.

use std::fmt::Write;

use crate::shared::Shared;
use crate::stats::Stats;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "stats",
    "replication",
    "keyspace",
];

/// Redis's `bytesToHuman`.
pub fn human_bytes(bytes: u64) -> String {
    let value = bytes as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    for (size, unit) in UNITS {
        if value >= size {
            return format!("{:.2}{unit}", value / size);
        }
    }
    format!("{bytes}B")
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub fn resident_memory() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| {
            statm
                .split_whitespace()
                .nth(1)
                .and_then(|pages| pages.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Renders the requested sections (`all`, `everything`, `default` or names; none means default).
pub fn render(shared: &Shared, requested: &[String], now_ms: u64) -> String {
    let wanted: Vec<&str> = if requested.is_empty()
        || requested
            .iter()
            .any(|section| matches!(section.as_str(), "all" | "everything" | "default"))
    {
        DEFAULT_SECTIONS.to_vec()
    } else {
        DEFAULT_SECTIONS
            .iter()
            .copied()
            .filter(|section| requested.iter().any(|r| r == section))
            .collect()
    };
    let mut text = String::new();
    for section in wanted {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        // Writing to a String cannot fail.
        let _ = write_section(&mut text, shared, section, now_ms);
    }
    text
}

fn write_section(
    text: &mut String,
    shared: &Shared,
    section: &str,
    now_ms: u64,
) -> std::fmt::Result {
    let stats = &shared.stats;
    match section {
        "server" => {
            let uptime = shared.started_at.elapsed().as_secs();
            write!(
                text,
                "# Server\r\nredis_version:{}\r\nringcache_version:{}\r\nredis_mode:standalone\r\n\
                 os:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\n\
                 tcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\n\
                 executable:{}\r\nconfig_file:\r\n",
                crate::REDIS_COMPATIBLE_VERSION,
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                shared.run_id,
                shared.port,
                uptime,
                uptime / 86_400,
                std::env::current_exe()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
            )
        }
        "clients" => write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
            shared.clients.count(),
            shared.settings.read().maxclients,
        ),
        "memory" => {
            let used = shared.keyspace.used_memory();
            let rss = resident_memory();
            let max = shared.keyspace.maxmemory();
            write!(
                text,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\n\
                 used_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
                 maxmemory:{max}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
                 mem_allocator:{}\r\nused_memory_is_estimate:1\r\n",
                human_bytes(used),
                human_bytes(rss),
                human_bytes(max),
                shared.keyspace.policy(),
                if cfg!(test) { "libc" } else { "mimalloc" },
            )
        }
        "stats" => write!(
            text,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
             expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            Stats::get(&stats.total_connections_received),
            Stats::get(&stats.total_commands_processed),
            Stats::get(&stats.total_net_input_bytes),
            Stats::get(&stats.total_net_output_bytes),
            Stats::get(&stats.rejected_connections),
            shared.keyspace.expired_keys(),
            shared.keyspace.evicted_keys(),
            Stats::get(&stats.keyspace_hits),
            Stats::get(&stats.keyspace_misses),
        )
        .and_then(|()| text.write_str(&shared.pubsub.info_stats())),
        "replication" => write!(
            text,
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
        ),
        "keyspace" => {
            write!(text, "# Keyspace\r\n")?;
            let summary = shared.keyspace.summary(now_ms);
            if summary.keys > 0 {
                let average_ttl = summary
                    .ttl_sum_ms
                    .checked_div(summary.volatile_keys)
                    .unwrap_or(0);
                write!(
                    text,
                    "db0:keys={},expires={},avg_ttl={}\r\n",
                    summary.keys, summary.volatile_keys, average_ttl
                )?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(human_bytes(1000), "1000B");
        assert_eq!(human_bytes(1024), "1.00K");
        assert_eq!(human_bytes(1536 * 1024), "1.50M");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.00G");
    }
}
