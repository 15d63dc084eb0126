//! INFO's `stats`, `commandstats` and `errorstats` sections.

use std::fmt::Write;

use crate::shared::Shared;
use crate::stats::Stats;

pub fn stats(text: &mut String, shared: &Shared) -> std::fmt::Result {
    let stats = &shared.stats;
    let rates = &stats.instantaneous;
    write!(
        text,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
         instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
         instantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\n\
         rejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\n\
         keyspace_hits:{}\r\nkeyspace_misses:{}\r\n{}total_error_replies:{}\r\n",
        Stats::get(&stats.total_connections_received),
        Stats::get(&stats.total_commands_processed),
        rates.ops_per_sec(),
        Stats::get(&stats.total_net_input_bytes),
        Stats::get(&stats.total_net_output_bytes),
        rates.input_kbps(),
        rates.output_kbps(),
        Stats::get(&stats.rejected_connections),
        stats.expired_keys(&shared.keyspace),
        stats.evicted_keys(&shared.keyspace),
        Stats::get(&stats.keyspace_hits),
        Stats::get(&stats.keyspace_misses),
        shared.pubsub.info_stats(),
        Stats::get(&stats.per_command.total_error_replies),
    )
}

/// `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..` for
/// every command used since start or `CONFIG RESETSTAT`.
pub fn commandstats(text: &mut String, shared: &Shared) -> std::fmt::Result {
    write!(text, "# Commandstats\r\n")?;
    for (name, figures) in shared.stats.per_command.commands() {
        let usec = figures.nanos / 1000;
        let per_call = if figures.calls == 0 {
            0.0
        } else {
            figures.nanos as f64 / 1000.0 / figures.calls as f64
        };
        write!(
            text,
            "cmdstat_{name}:calls={},usec={usec},usec_per_call={per_call:.2},\
             rejected_calls={},failed_calls={}\r\n",
            figures.calls, figures.rejected, figures.failed
        )?;
    }
    Ok(())
}

/// `errorstat_<CODE>:count=..` for every error code replied since start or `CONFIG RESETSTAT`.
pub fn errorstats(text: &mut String, shared: &Shared) -> std::fmt::Result {
    write!(text, "# Errorstats\r\n")?;
    for (code, count) in shared.stats.per_command.errors() {
        write!(text, "errorstat_{code}:count={count}\r\n")?;
    }
    Ok(())
}
