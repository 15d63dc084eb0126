//! CLUSTER INFO | MYID | KEYSLOT | SLOTS | SHARDS | NODES | COUNTKEYSINSLOT, in Redis Cluster's
//! formats, so cluster-aware clients (redis-cli -c, redis-benchmark --cluster, client libraries)
//! route by slot. A ringcache member leads some partitions and follows others; in these views the
//! leader of a partition is the "master" of its slots and its other voters are "replicas".
//!
//! Asking for the topology (SLOTS, SHARDS, NODES) marks the connection cluster-aware: it gets
//! `-MOVED` instead of transparent forwarding from then on.

use bytes::Bytes;
use ringcache_admin::{PartitionStatus, Replica};

use super::Cluster;
use crate::command::{CommandError, CommandResult, Session, integer_arg, text};
use crate::protocol::ReplyWriter;
use crate::store::key_slot;

/// One partition as the topology commands show it.
struct SlotRange {
    first: u16,
    last: u16,
    leader: Replica,
    followers: Vec<Replica>,
}

/// Runs one CLUSTER subcommand, writing its reply or its error.
pub fn run(session: &mut Session<'_>, cluster: &Cluster, args: &[Bytes], out: &mut ReplyWriter) {
    if let Err(error) = subcommand(session, cluster, args, out) {
        out.error(&error.to_string());
    }
}

fn subcommand(
    context: &mut Session<'_>,
    cluster: &Cluster,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    let subcommand = args[1].to_ascii_uppercase();
    let arity_error = || {
        CommandError::Message(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
            text(&args[1])
        ))
    };
    match (subcommand.as_slice(), args.len()) {
        (b"INFO", 2) => info(cluster, out),
        (b"MYID", 2) => out.bulk(node_id(cluster.member().id).as_bytes()),
        (b"KEYSLOT", 3) => out.integer(i64::from(key_slot(&args[2]))),
        (b"COUNTKEYSINSLOT", 3) => {
            let slot = integer_arg(&args[2])?;
            let slot = u16::try_from(slot)
                .ok()
                .filter(|slot| *slot < ringcache_placement::SLOT_COUNT)
                .ok_or_else(|| CommandError::Message("ERR Invalid slot".to_owned()))?;
            out.integer(context.shared.keyspace.count_in(slot..slot + 1) as i64);
        }
        (b"SLOTS", 2) => {
            context.client.cluster_aware = true;
            slots(cluster, out);
        }
        (b"SHARDS", 2) => {
            context.client.cluster_aware = true;
            shards(cluster, out);
        }
        (b"NODES", 2) => {
            context.client.cluster_aware = true;
            out.bulk(nodes(cluster).as_bytes());
        }
        // Internal: a member forwarding on behalf of a plain client wants -MOVED, never a second
        // forward (which could loop while leadership moves).
        (b"RINGCACHE-FORWARDER", 2) => {
            context.client.cluster_aware = true;
            context.client.from_member = true;
            out.ok();
        }
        // Internal: a message another member's PUBLISH / SPUBLISH fans out (cluster/pubsub.rs),
        // for the subscribers here only. Members alone may send it: a client could otherwise
        // inject messages that look published elsewhere.
        (b"RINGCACHE-PUBLISH" | b"RINGCACHE-SPUBLISH", 4) => {
            if !context.client.member {
                return Err(CommandError::Message(format!(
                    "NOPERM this user has no permissions to run the 'cluster|{}' command",
                    text(&args[1]).to_ascii_lowercase()
                )));
            }
            let scope = if subcommand.as_slice() == b"RINGCACHE-PUBLISH" {
                crate::pubsub::Scope::Global
            } else {
                crate::pubsub::Scope::Shard
            };
            let receivers = context
                .shared
                .pubsub
                .publish_local(scope, &args[2], &args[3]);
            out.integer(receivers as i64);
        }
        // Internal: another member announces itself for the Pub/Sub fan-out (members only, so
        // nobody else can make members send messages to an address of their choosing).
        (b"RINGCACHE-PUBSUB-PEER", 3) => {
            if !context.client.member {
                return Err(CommandError::Message(
                    "NOPERM this user has no permissions to run the 'cluster|ringcache-pubsub-peer' command"
                        .to_owned(),
                ));
            }
            let address = text(&args[2]);
            if address
                .rsplit_once(':')
                .is_none_or(|(_, port)| port.parse::<u16>().is_err())
            {
                return Err(CommandError::Message(
                    "ERR Invalid address, expected host:port".to_owned(),
                ));
            }
            if let Some(remote) = context.shared.pubsub.remote() {
                remote.peer_announced(&address);
            }
            out.ok();
        }
        // Internal: the partitions hosted here, for other members' route tables.
        (b"RINGCACHE-ROUTES", 2) => {
            let statuses: Vec<PartitionStatus> = cluster
                .host()
                .hosted_groups()
                .into_iter()
                .filter_map(|partition| cluster.partition_status(partition))
                .collect();
            out.bulk(&serde_json::to_vec(&statuses).unwrap_or_default());
        }
        (b"HELP", 2) => {
            let lines = [
                "CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
                "INFO, MYID, KEYSLOT <key>, COUNTKEYSINSLOT <slot>, SLOTS, SHARDS, NODES",
            ];
            out.array_header(lines.len());
            for line in lines {
                out.simple(line);
            }
        }
        _ => return Err(arity_error()),
    }
    Ok(())
}

/// Redis node ids are 40 hex characters; a ringcache member's is its Raft id, zero-padded.
fn node_id(id: u64) -> String {
    format!("{id:040x}")
}

fn host_and_port(replica: &Replica) -> (&str, u16, u16) {
    let (client, cluster_port) = replica
        .address
        .split_once('@')
        .unwrap_or((replica.address.as_str(), ""));
    let (host, port) = client.rsplit_once(':').unwrap_or((client, "0"));
    (
        host,
        port.parse().unwrap_or(0),
        cluster_port.parse().unwrap_or(0),
    )
}

/// Every partition whose leader is known, from local Raft state or other members' reports.
fn ranges(cluster: &Cluster) -> Vec<SlotRange> {
    let Some(count) = cluster.partition_count() else {
        return Vec::new();
    };
    (0..count.get())
        .filter_map(|partition| {
            let status = cluster
                .partition_status(partition)
                .filter(|status| status.leader.is_some())
                .or_else(|| cluster.routes.get(partition))?;
            let leader = status.leader?;
            let slots = count.slots_of(partition);
            let followers = status
                .voters
                .into_iter()
                .filter(|voter| voter.id != leader.id)
                .collect();
            Some(SlotRange {
                first: slots.start,
                last: slots.end - 1,
                leader,
                followers,
            })
        })
        .collect()
}

fn info(cluster: &Cluster, out: &mut ReplyWriter) {
    let partitions = cluster.partition_count().map_or(0, |count| count.get());
    let ranges = ranges(cluster);
    let assigned: u32 = ranges
        .iter()
        .map(|range| u32::from(range.last - range.first) + 1)
        .sum();
    let complete = partitions > 0 && ranges.len() as u32 == partitions;
    let mut leaders: Vec<u64> = ranges.iter().map(|range| range.leader.id).collect();
    leaders.sort_unstable();
    leaders.dedup();
    let text = format!(
        "cluster_enabled:1\r\ncluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\n\
         cluster_slots_ok:{assigned}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n\
         cluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:0\r\n\
         cluster_my_epoch:0\r\ncluster_partitions:{partitions}\r\n",
        if complete { "ok" } else { "fail" },
        cluster.known_members().len(),
        leaders.len(),
    );
    out.bulk(text.as_bytes());
}

fn write_node(out: &mut ReplyWriter, replica: &Replica) {
    let (host, port, _) = host_and_port(replica);
    out.array_header(3);
    out.bulk(host.as_bytes());
    out.integer(i64::from(port));
    out.bulk(node_id(replica.id).as_bytes());
}

fn slots(cluster: &Cluster, out: &mut ReplyWriter) {
    let ranges = ranges(cluster);
    out.array_header(ranges.len());
    for range in &ranges {
        out.array_header(3 + range.followers.len());
        out.integer(i64::from(range.first));
        out.integer(i64::from(range.last));
        write_node(out, &range.leader);
        for follower in &range.followers {
            write_node(out, follower);
        }
    }
}

fn shards(cluster: &Cluster, out: &mut ReplyWriter) {
    let ranges = ranges(cluster);
    out.array_header(ranges.len());
    for range in &ranges {
        out.map_header(2);
        out.bulk(b"slots");
        out.array_header(2);
        out.integer(i64::from(range.first));
        out.integer(i64::from(range.last));
        out.bulk(b"nodes");
        out.array_header(1 + range.followers.len());
        let nodes = std::iter::once((&range.leader, "master"))
            .chain(range.followers.iter().map(|follower| (follower, "replica")));
        for (replica, role) in nodes {
            let (host, port, _) = host_and_port(replica);
            out.map_header(6);
            out.bulk(b"id");
            out.bulk(node_id(replica.id).as_bytes());
            out.bulk(b"port");
            out.integer(i64::from(port));
            out.bulk(b"endpoint");
            out.bulk(host.as_bytes());
            out.bulk(b"role");
            out.bulk(role.as_bytes());
            out.bulk(b"replication-offset");
            out.integer(0);
            out.bulk(b"health");
            out.bulk(b"online");
        }
    }
}

/// `CLUSTER NODES`: one line per member; a member's slots are those of the partitions it leads.
fn nodes(cluster: &Cluster) -> String {
    let ranges = ranges(cluster);
    let me = cluster.member().id;
    let mut text = String::new();
    for member in cluster.known_members() {
        let (host, port, cluster_port) = host_and_port(&member);
        let flags = if member.id == me {
            "myself,master"
        } else {
            "master"
        };
        text.push_str(&format!(
            "{} {host}:{port}@{cluster_port} {flags} - 0 0 0 connected",
            node_id(member.id)
        ));
        let mut led: Vec<&SlotRange> = ranges
            .iter()
            .filter(|range| range.leader.id == member.id)
            .collect();
        led.sort_by_key(|range| range.first);
        // Adjacent partitions with one leader print as one range, as Redis does.
        let mut merged: Vec<(u16, u16)> = Vec::new();
        for range in led {
            match merged.last_mut() {
                Some(last) if last.1 + 1 == range.first => last.1 = range.last,
                _ => merged.push((range.first, range.last)),
            }
        }
        for (first, last) in merged {
            if first == last {
                text.push_str(&format!(" {first}"));
            } else {
                text.push_str(&format!(" {first}-{last}"));
            }
        }
        text.push('\n');
    }
    text
}
