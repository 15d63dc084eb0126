//! The text of `INFO`: Redis 7.0's sections and field names, with the figures ringcache has.
//! Fields Redis has and ringcache has no equivalent for are left out rather than invented (see
//! docs/compatibility.md); `ringcache_`-prefixed fields are ringcache's own.

mod replication;
mod stats;

use std::fmt::Write;

use crate::shared::Shared;
use crate::stats::process;

pub use replication::{Leadership, leadership};

/// Every section, in the order Redis writes them, and whether `INFO` without arguments (or
/// `default`) includes it: all but `commandstats`, as in Redis 7.0 (its `latencystats` and
/// module sections do not exist here).
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
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

/// The sections `requested` names (lower case), as Redis chooses them: none or `default` means
/// the default ones, `all` and `everything` every one; names add up; unknown names add nothing.
fn chosen(requested: &[String]) -> Vec<&'static str> {
    let asked = |name: &str| requested.iter().any(|section| section == name);
    let every = asked("all") || asked("everything");
    let default = requested.is_empty() || asked("default");
    SECTIONS
        .iter()
        .filter(|(name, in_default)| every || (default && *in_default) || asked(name))
        .map(|(name, _)| *name)
        .collect()
}

/// Renders the requested sections.
pub fn render(shared: &Shared, requested: &[String], now_ms: u64) -> String {
    let mut text = String::new();
    for section in chosen(requested) {
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
    match section {
        "server" => server(text, shared, now_ms),
        "clients" => write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n",
            shared.clients.count(),
            shared.settings.read().maxclients,
            crate::stats::Stats::get(&shared.stats.blocked_clients),
        ),
        "memory" => memory(text, shared),
        // Nothing is saved or loaded (a cluster member keeps Raft logs and snapshots of its
        // partitions, which are not Redis's RDB or AOF): only the fields that say so.
        "persistence" => write!(
            text,
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_bgsave_in_progress:0\r\n\
             aof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
        ),
        "stats" => stats::stats(text, shared),
        "replication" => replication::write(text, shared),
        "cpu" => {
            let cpu = process::cpu_times();
            write!(
                text,
                "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\n\
                 used_cpu_sys_children:{:.6}\r\nused_cpu_user_children:{:.6}\r\n",
                cpu.system, cpu.user, cpu.children_system, cpu.children_user
            )
        }
        "modules" => write!(text, "# Modules\r\n"),
        "commandstats" => stats::commandstats(text, shared),
        "errorstats" => stats::errorstats(text, shared),
        "cluster" => write!(
            text,
            "# Cluster\r\ncluster_enabled:{}\r\n",
            u8::from(shared.config.cluster_enabled)
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

fn server(text: &mut String, shared: &Shared, now_ms: u64) -> std::fmt::Result {
    let uptime = shared.started_at.elapsed().as_secs();
    write!(
        text,
        "# Server\r\nredis_version:{}\r\nringcache_version:{}\r\nredis_mode:{}\r\n\
         os:{} {}\r\narch_bits:{}\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\n\
         tcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\n\
         hz:10\r\nconfigured_hz:10\r\nexecutable:{}\r\nconfig_file:\r\n",
        crate::REDIS_COMPATIBLE_VERSION,
        env!("CARGO_PKG_VERSION"),
        if shared.config.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        },
        operating_system(),
        std::env::consts::ARCH,
        usize::BITS,
        std::process::id(),
        shared.run_id,
        shared.port,
        now_ms.saturating_mul(1000),
        uptime,
        uptime / 86_400,
        std::env::current_exe()
            .map(|path| path.display().to_string())
            .unwrap_or_default(),
    )
}

/// `Linux 6.1.0-18-amd64` as Redis writes it (uname's system and release); the OS name alone
/// where the release is unknown.
fn operating_system() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    match (std::env::consts::OS, release.trim()) {
        ("linux", "") => "Linux".to_owned(),
        ("linux", release) => format!("Linux {release}"),
        (other, _) => other.to_owned(),
    }
}

fn memory(text: &mut String, shared: &Shared) -> std::fmt::Result {
    let used = shared.keyspace.used_memory();
    let peak = shared.stats.peak_memory(used);
    let rss = process::resident_memory();
    let max = shared.keyspace.maxmemory();
    let system = process::total_system_memory();
    // Redis divides by used_memory too; with no data the ratio means nothing, so 0 (Redis
    // writes its startup overhead there).
    let fragmentation = if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    };
    write!(
        text,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\n\
         used_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
         used_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\n\
         total_system_memory:{system}\r\ntotal_system_memory_human:{}\r\n\
         maxmemory:{max}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
         mem_fragmentation_ratio:{fragmentation:.2}\r\n\
         mem_allocator:{}\r\nused_memory_is_estimate:1\r\n",
        human_bytes(used),
        human_bytes(rss),
        human_bytes(peak),
        human_bytes(system),
        human_bytes(max),
        shared.keyspace.policy(),
        if cfg!(test) { "libc" } else { "mimalloc" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(human_bytes(1000), "1000B");
        assert_eq!(human_bytes(1024), "1.00K");
        assert_eq!(human_bytes(1536 * 1024), "1.50M");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.00G");
    }

    fn sections(requested: &[&str]) -> Vec<&'static str> {
        chosen(
            &requested
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn sections_are_chosen_as_redis_chooses_them() {
        let default = sections(&[]);
        assert_eq!(sections(&["default"]), default);
        assert!(!default.contains(&"commandstats"));
        assert!(default.contains(&"errorstats") && default.contains(&"keyspace"));
        assert_eq!(sections(&["all"]).len(), SECTIONS.len());
        assert_eq!(sections(&["everything"]).len(), SECTIONS.len());
        // Redis's order, whatever the order asked.
        assert_eq!(
            sections(&["keyspace", "server"]),
            vec!["server", "keyspace"]
        );
        assert!(sections(&["nosuchsection"]).is_empty());
        let mut with_commands = default.clone();
        with_commands.insert(8, "commandstats");
        assert_eq!(sections(&["default", "commandstats"]), with_commands);
    }
}
