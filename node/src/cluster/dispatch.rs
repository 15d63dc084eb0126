//! Serving one client request in cluster mode: find the partition of its keys, then run it here
//! (this member leads it), redirect (`-MOVED`), or forward it to the leader.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcache_replication::{ProposeError, ReadError};
use serde_bytes::ByteBuf;

use super::forward::{ForwardError, Forwarder};
use super::machine::PartitionCommand;
use super::{Cluster, Route};
use crate::command::{self, Checked, CommandSpec, Context, Flags};
use crate::protocol::{Protocol, ReplyWriter};
use crate::store::key_slot;

/// How long a request waits for a partition without a known leader (an election) before it
/// answers `-CLUSTERDOWN`.
const LEADER_WAIT: Duration = Duration::from_secs(3);

/// Per-connection cluster state.
#[derive(Default)]
pub struct ConnectionRouting {
    forwarder: Forwarder,
    /// Partitions whose leadership was confirmed during the current batch: later reads of the
    /// batch need no new confirmation (they arrived before it completed).
    confirmed: HashSet<u32>,
}

impl ConnectionRouting {
    /// Called when a new batch of requests starts.
    pub fn new_batch(&mut self) {
        self.confirmed.clear();
    }
}

/// The slot all keys of a request hash to; `Ok(None)` for keyless commands.
pub fn request_slot(spec: &CommandSpec, args: &[Bytes]) -> Result<Option<u16>, CrossSlot> {
    if spec.first_key <= 0 || spec.step <= 0 {
        return Ok(None);
    }
    let first = spec.first_key as usize;
    let last = if spec.last_key < 0 {
        args.len() as i64 + i64::from(spec.last_key)
    } else {
        i64::from(spec.last_key)
    };
    if last < first as i64 {
        return Ok(None);
    }
    let mut slot = None;
    for index in (first..=last as usize).step_by(spec.step as usize) {
        let Some(key) = args.get(index) else { break };
        let key_slot = key_slot(key);
        match slot {
            None => slot = Some(key_slot),
            Some(known) if known != key_slot => return Err(CrossSlot),
            Some(_) => {}
        }
    }
    Ok(slot)
}

/// Keys of one request hash to different slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossSlot;

/// Serves one request in cluster mode. Returns the command (for `CLIENT LIST`).
pub async fn serve(
    context: &mut Context<'_>,
    cluster: &Arc<Cluster>,
    routing: &mut ConnectionRouting,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Option<&'static CommandSpec> {
    let spec = match command::checked(context, args, out) {
        Checked::Ready(spec) => spec,
        Checked::Rejected(spec) => return spec,
    };
    if matches!(spec.name, "flushall" | "flushdb") {
        flush_led_partitions(cluster, out).await;
        return Some(spec);
    }
    let slot = match request_slot(spec, args) {
        Ok(Some(slot)) => slot,
        Ok(None) => {
            command::run(context, spec, args, out);
            return Some(spec);
        }
        Err(CrossSlot) => {
            cluster.counters.crossslot.fetch_add(1, Ordering::Relaxed);
            out.error("CROSSSLOT Keys in request don't hash to the same slot");
            return Some(spec);
        }
    };
    let Some(partition) = cluster.partition_of(slot) else {
        out.error("CLUSTERDOWN Hash slot not served: this member has not joined a cluster yet");
        return Some(spec);
    };
    let write = spec.flags.contains(Flags::WRITE);
    // Refused where it arrives: never forwarded, copied or encoded (the leader checks the exact
    // encoded size again when it proposes).
    if write {
        let (size, limit) = (least_encoded_size(args), cluster.host().max_command_len());
        if size > limit {
            out.error(&too_large(size, limit));
            return Some(spec);
        }
    }
    if !write && context.client.readonly && cluster.hosts(partition) {
        // READONLY: the client accepts a possibly stale answer from any replica.
        cluster.counters.reads_stale.fetch_add(1, Ordering::Relaxed);
        command::run(context, spec, args, out);
        return Some(spec);
    }
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        match cluster.route(partition) {
            Route::Local => {
                let done = if write {
                    propose(context, cluster, partition, args, out).await
                } else {
                    read(context, cluster, routing, partition, spec, args, out).await
                };
                if done {
                    return Some(spec);
                }
            }
            Route::Remote(leader) => {
                if context.client.cluster_aware {
                    cluster.counters.moved.fetch_add(1, Ordering::Relaxed);
                    out.error(&format!("MOVED {slot} {}", leader.client_address()));
                } else {
                    let forwarded = forward(
                        context,
                        cluster,
                        routing,
                        (partition, leader.client_address()),
                        write,
                        args,
                        out,
                    )
                    .await;
                    if forwarded == Forwarded::LeaderChangedBeforeReply {
                        // A read changes nothing: ask the new leader, while time is left.
                        if Instant::now() < deadline {
                            continue;
                        }
                        out.error(&format!(
                            "TRYAGAIN partition {partition}'s leader changed while the read was \
                             forwarded; retry"
                        ));
                    }
                }
                return Some(spec);
            }
            Route::Unknown => {}
        }
        if Instant::now() >= deadline {
            out.error(&format!(
                "CLUSTERDOWN partition {partition} (slot {slot}) has no leader right now; retry"
            ));
            return Some(spec);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Proposes a write; `false` when this member turned out not to lead (route again).
async fn propose(
    context: &mut Context<'_>,
    cluster: &Cluster,
    partition: u32,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> bool {
    if let Err(error) = evict_for_room(context, cluster).await {
        out.error(&error);
        return true;
    }
    let command = PartitionCommand::Client {
        now_ms: context.now_ms,
        resp3: out.protocol() == Protocol::Resp3,
        args: args.iter().map(|arg| ByteBuf::from(arg.to_vec())).collect(),
    };
    match cluster.host().propose(partition, &command).await {
        Ok(reply) => {
            cluster
                .counters
                .proposals_committed
                .fetch_add(1, Ordering::Relaxed);
            out.buffer_mut().extend_from_slice(&reply);
            true
        }
        Err(ProposeError::NotLeader { .. }) => {
            cluster
                .counters
                .proposals_not_leader
                .fetch_add(1, Ordering::Relaxed);
            false
        }
        Err(ProposeError::TooLarge { size, limit }) => {
            out.error(&too_large(size, limit));
            true
        }
        Err(error) if error.definitely_not_applied() => {
            out.error(&format!("TRYAGAIN the write was not applied: {error}"));
            true
        }
        Err(error) => {
            cluster
                .counters
                .proposals_unknown
                .fetch_add(1, Ordering::Relaxed);
            out.error(&format!(
                "ERR outcome unknown: the write may or may not have been applied ({error}); \
                 read the key to find out"
            ));
            true
        }
    }
}

/// A lower bound of a write's size once encoded for the log: each argument and its length.
fn least_encoded_size(args: &[Bytes]) -> usize {
    args.iter().map(|arg| arg.len() + 8).sum()
}

/// The answer to a write over `--max-write-size`.
fn too_large(size: usize, limit: usize) -> String {
    format!(
        "ERR write of {size} bytes exceeds max-write-size ({limit} bytes): nothing was changed; \
         split the value, or raise --max-write-size (at most 63mb)"
    )
}

/// Over `maxmemory`: evicts keys of partitions this member leads, chosen by the policy and
/// deleted through each partition's log (so every replica evicts the same keys). Fails with the
/// `-OOM` text when over the limit and nothing here may be evicted.
async fn evict_for_room(context: &Context<'_>, cluster: &Cluster) -> Result<(), String> {
    /// Victims per write, so one write never stalls on a huge eviction.
    const MAX_VICTIMS: usize = 64;
    let keyspace = &context.shared.keyspace;
    let maxmemory = keyspace.maxmemory();
    if maxmemory == 0 || keyspace.used_memory() <= maxmemory {
        return Ok(());
    }
    let out_of_memory = || "OOM command not allowed when used memory > 'maxmemory'.".to_owned();
    let led = |key: &[u8]| {
        cluster
            .partition_of(key_slot(key))
            .is_some_and(|partition| cluster.route(partition) == Route::Local)
    };
    let victims = keyspace
        .choose_victims(context.now_ms, led, MAX_VICTIMS)
        .map_err(|_| out_of_memory())?;
    let mut by_partition: std::collections::BTreeMap<u32, Vec<ByteBuf>> = Default::default();
    for key in victims {
        if let Some(partition) = cluster.partition_of(key_slot(&key)) {
            by_partition
                .entry(partition)
                .or_default()
                .push(ByteBuf::from(key.to_vec()));
        }
    }
    for (partition, keys) in by_partition {
        cluster
            .host()
            .propose(partition, &PartitionCommand::Evict { keys })
            .await
            .map_err(|_| out_of_memory())?;
    }
    Ok(())
}

/// A linearizable read; `false` when this member turned out not to lead.
async fn read(
    context: &mut Context<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    partition: u32,
    spec: &'static CommandSpec,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> bool {
    let deadline = Instant::now() + LEADER_WAIT;
    while !routing.confirmed.contains(&partition) {
        match cluster.host().linearizable_read(partition).await {
            Ok(()) => {
                routing.confirmed.insert(partition);
            }
            Err(ReadError::NotLeader { .. }) => return false,
            // A leader that just took over (or lost contact for a moment): retry briefly.
            Err(ReadError::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => {
                out.error(&format!("TRYAGAIN read not confirmed: {error}"));
                return true;
            }
        }
    }
    cluster.counters.reads_local.fetch_add(1, Ordering::Relaxed);
    command::run(context, spec, args, out);
    true
}

/// How a forwarded request ended.
#[derive(Debug, PartialEq, Eq)]
enum Forwarded {
    /// Answered (the reply, or an error, is in the output).
    Answered,
    /// A read whose leader was replaced before it answered; nothing is in the output.
    LeaderChangedBeforeReply,
}

/// Forwards to `partition`'s leader at `address`. A leader that stops answering (paused, cut
/// off) would hold the request until the forwarding timeout; once this member sees another
/// leader, the request is abandoned instead (see [`ForwardError::Abandoned`]): a read is retried
/// there, a write is reported as of unknown outcome (it was sent, so it may still apply).
async fn forward(
    context: &mut Context<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    (partition, address): (u32, &str),
    write: bool,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Forwarded {
    let access = context.shared.peer_access();
    let replaced = |waited_on: &str| match cluster.route(partition) {
        Route::Local => true,
        Route::Remote(leader) => leader.client_address() != waited_on,
        Route::Unknown => false,
    };
    let reply = routing
        .forwarder
        .forward(
            address,
            cluster.host().source_address(),
            out.protocol(),
            &access,
            args,
            Some(&replaced),
        )
        .await;
    if !write && matches!(reply, Err(ForwardError::Abandoned { .. })) {
        cluster
            .counters
            .forward_failures
            .fetch_add(1, Ordering::Relaxed);
        return Forwarded::LeaderChangedBeforeReply;
    }
    match reply {
        Ok(reply) => {
            cluster.counters.forwarded.fetch_add(1, Ordering::Relaxed);
            out.buffer_mut().extend_from_slice(&reply);
        }
        Err(error) => {
            cluster
                .counters
                .forward_failures
                .fetch_add(1, Ordering::Relaxed);
            let sent = matches!(
                error,
                ForwardError::Sent { .. } | ForwardError::Abandoned { sent: true, .. }
            );
            if write && sent {
                out.error(&format!(
                    "ERR outcome unknown: the write may or may not have been applied ({error}); \
                     read the key to find out"
                ));
            } else {
                out.error(&format!("TRYAGAIN {error}"));
            }
        }
    }
    Forwarded::Answered
}

/// FLUSHALL / FLUSHDB: as in Redis Cluster, a member flushes the slots it serves, here the
/// partitions it leads (run it on every member to empty the cluster).
async fn flush_led_partitions(cluster: &Cluster, out: &mut ReplyWriter) {
    for partition in cluster.host().hosted_groups() {
        if cluster.route(partition) != Route::Local {
            continue;
        }
        if let Err(error) = cluster
            .host()
            .propose(partition, &PartitionCommand::Flush)
            .await
        {
            out.error(&format!(
                "ERR flushing partition {partition} failed: {error}"
            ));
            return;
        }
    }
    out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot_of(args: &[&str]) -> Result<Option<u16>, CrossSlot> {
        let args: Vec<Bytes> = args
            .iter()
            .map(|arg| Bytes::from(arg.to_string()))
            .collect();
        let name = args[0].to_ascii_lowercase();
        let spec = command::lookup(&name).expect("known command");
        request_slot(spec, &args)
    }

    #[test]
    fn slots_follow_the_command_key_specs() {
        assert_eq!(slot_of(&["GET", "foo"]), Ok(Some(12182)));
        assert_eq!(slot_of(&["PING"]), Ok(None));
        assert_eq!(slot_of(&["KEYS", "*"]), Ok(None));
        assert_eq!(
            slot_of(&["MSET", "{user1000}.a", "1", "{user1000}.b", "2"]),
            Ok(Some(3443))
        );
        assert_eq!(slot_of(&["MSET", "foo", "1", "bar", "2"]), Err(CrossSlot));
        assert_eq!(slot_of(&["DEL", "foo", "bar"]), Err(CrossSlot));
        assert_eq!(slot_of(&["MGET", "{a}x", "{a}y"]), Ok(Some(key_slot(b"a"))));
    }
}
