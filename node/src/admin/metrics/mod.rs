//! `/metrics` in the Prometheus text format. Labels are fixed categories (partition number,
//! role, outcome, command name, error code), never error text. The INFO figures are in
//! [`server`]; this file has the admin, cluster and partition ones.

mod server;

use std::fmt::Write;
use std::sync::atomic::Ordering;

use ringcache_admin::Role;

/// A per-partition gauge: metric name, help text, and its value for one partition.
type PartitionGauge = (
    &'static str,
    &'static str,
    fn(&ringcache_admin::PartitionStatus) -> u64,
);

/// Renders every metric of the node.
pub fn render(shared: &super::AdminState) -> String {
    let mut text = String::new();
    let stats = &shared.stats;
    counter(
        &mut text,
        "ringcache_commands_total",
        "Commands executed by this node's connections.",
        &[("", stats.total_commands_processed.load(Ordering::Relaxed))],
    );
    gauge(
        &mut text,
        "ringcache_connected_clients",
        "Client connections open.",
        &[("", shared.clients.count() as u64)],
    );
    gauge(
        &mut text,
        "ringcache_used_memory_bytes",
        "Deterministic estimate of the memory used by data.",
        &[("", shared.keyspace.used_memory())],
    );
    server::render(&mut text, shared);
    let security = &shared.security;
    let refused: Vec<(String, u64)> = crate::security::AdminRefusal::ALL
        .iter()
        .map(|refusal| {
            (
                format!("reason=\"{}\"", refusal.label()),
                security.admin_refused(*refusal),
            )
        })
        .collect();
    counter(
        &mut text,
        "ringcache_admin_requests_unauthorized_total",
        "Admin API requests refused with 401, by reason (missing, malformed, wrong_secret).",
        &refused
            .iter()
            .map(|(label, value)| (label.as_str(), *value))
            .collect::<Vec<_>>(),
    );
    let (handed_off, limited) = security.pre_stop_calls();
    counter(
        &mut text,
        "ringcache_admin_pre_stop_calls_total",
        "Unauthenticated pre-stop calls: leadership handed away, or refused as too soon (429).",
        &[
            ("result=\"handed_off\"", handed_off),
            ("result=\"rate_limited\"", limited),
        ],
    );
    let Some(cluster) = shared.cluster.as_ref() else {
        return text;
    };
    let counters = &cluster.counters;
    let load = |value: &std::sync::atomic::AtomicU64| value.load(Ordering::Relaxed);
    counter(
        &mut text,
        "ringcache_proposals_total",
        "Writes proposed to a partition led here, by outcome.",
        &[
            ("outcome=\"committed\"", load(&counters.proposals_committed)),
            (
                "outcome=\"not_leader\"",
                load(&counters.proposals_not_leader),
            ),
            ("outcome=\"unknown\"", load(&counters.proposals_unknown)),
        ],
    );
    counter(
        &mut text,
        "ringcache_reads_total",
        "Reads served here: linearizable (leader) or stale (READONLY).",
        &[
            ("kind=\"linearizable\"", load(&counters.reads_local)),
            ("kind=\"stale\"", load(&counters.reads_stale)),
        ],
    );
    counter(
        &mut text,
        "ringcache_forwarded_commands_total",
        "Commands of plain clients forwarded to the partition leader, by outcome.",
        &[
            ("outcome=\"ok\"", load(&counters.forwarded)),
            ("outcome=\"failed\"", load(&counters.forward_failures)),
        ],
    );
    counter(
        &mut text,
        "ringcache_redirections_total",
        "Replies redirecting cluster-aware clients, by kind.",
        &[
            ("kind=\"moved\"", load(&counters.moved)),
            ("kind=\"crossslot\"", load(&counters.crossslot)),
        ],
    );
    counter(
        &mut text,
        "ringcache_replica_move_steps_total",
        "Replica move steps completed by this member as the partition leader, by step.",
        &[
            ("step=\"add_learner\"", load(&counters.moves_add_learner)),
            ("step=\"promote\"", load(&counters.moves_promote)),
            (
                "step=\"transfer_leadership\"",
                load(&counters.moves_transfer_leadership),
            ),
            (
                "step=\"remove_replica\"",
                load(&counters.moves_remove_replica),
            ),
        ],
    );
    counter(
        &mut text,
        "ringcache_expired_keys_proposed_total",
        "Expired keys whose deletion this member proposed as a partition leader.",
        &[("", load(&counters.expired_proposed))],
    );
    let wire = cluster.host().wire_counters();
    counter(
        &mut text,
        "ringcache_cluster_frames_sent_total",
        "Raft messages and answers this member wrote to its peers on the cluster port.",
        &[("", wire.frames_sent())],
    );
    counter(
        &mut text,
        "ringcache_cluster_socket_writes_total",
        "Socket writes that carried them (fewer than frames: heartbeats of all partitions to a peer share one write).",
        &[("", wire.socket_writes())],
    );
    let rejected: Vec<(String, u64)> = ringcache_replication::Rejection::ALL
        .iter()
        .map(|rejection| {
            (
                format!("reason=\"{}\"", rejection.label()),
                wire.rejected().get(*rejection),
            )
        })
        .collect();
    counter(
        &mut text,
        "ringcache_cluster_connections_rejected_total",
        "Cluster-port connections closed before any frame: the peer failed mutual TLS or did not prove it knows the cluster secret, by reason.",
        &rejected
            .iter()
            .map(|(label, value)| (label.as_str(), *value))
            .collect::<Vec<_>>(),
    );
    counter(
        &mut text,
        "ringcache_log_torn_tails_truncated_total",
        "Partition logs whose incomplete last record (a crash during an append, never acknowledged) was cut off at start-up.",
        &[("", cluster.host().torn_log_tails())],
    );
    let status = cluster.status();
    let _ = writeln!(
        text,
        "# HELP ringcache_partition_role 1 for this member's role in each hosted partition.\n\
         # TYPE ringcache_partition_role gauge"
    );
    for partition in &status.partitions {
        for role in [
            Role::Leader,
            Role::Follower,
            Role::Candidate,
            Role::Learner,
            Role::Shutdown,
        ] {
            let name = match role {
                Role::Leader => "leader",
                Role::Follower => "follower",
                Role::Candidate => "candidate",
                Role::Learner => "learner",
                Role::Shutdown => "shutdown",
            };
            let _ = writeln!(
                text,
                "ringcache_partition_role{{partition=\"{}\",role=\"{name}\"}} {}",
                partition.partition,
                u8::from(partition.role == role)
            );
        }
    }
    let per_partition: [PartitionGauge; 5] = [
        (
            "ringcache_partition_term",
            "Raft term of each hosted partition.",
            |p| p.term,
        ),
        (
            "ringcache_partition_last_log_index",
            "Last log index of each hosted partition.",
            |p| p.last_log_index.unwrap_or(0),
        ),
        (
            "ringcache_partition_commit_index",
            "Highest index known committed, per hosted partition.",
            |p| p.committed_index.unwrap_or(0),
        ),
        (
            "ringcache_partition_applied_index",
            "Highest index applied to the keyspace, per hosted partition.",
            |p| p.applied_index.unwrap_or(0),
        ),
        (
            "ringcache_partition_keys",
            "Keys held for each hosted partition.",
            |p| p.keys,
        ),
    ];
    for (name, help, value) in per_partition {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        for partition in &status.partitions {
            let _ = writeln!(
                text,
                "{name}{{partition=\"{}\"}} {}",
                partition.partition,
                value(partition)
            );
        }
    }
    gauge(
        &mut text,
        "ringcache_ready",
        "1 when /readyz answers ready.",
        &[("", u64::from(status.ready))],
    );
    text
}

fn family(text: &mut String, kind: &str, name: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(text, "{name} {value}");
        } else {
            let _ = writeln!(text, "{name}{{{labels}}} {value}");
        }
    }
}

/// A family whose values are not whole numbers (seconds, ratios).
fn float_family(text: &mut String, kind: &str, name: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(text, "{name} {value}");
        } else {
            let _ = writeln!(text, "{name}{{{labels}}} {value}");
        }
    }
}

fn counter(text: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    family(text, "counter", name, help, samples);
}

fn gauge(text: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    family(text, "gauge", name, help, samples);
}
