//! Serving one client request in cluster mode: find the partition of its keys, then run it here
//! (this member leads it), redirect (`-MOVED`), or forward it to the leader.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcache_replication::ReadError;

use super::machine::PartitionCommand;
use super::propose::{LEADER_WAIT, least_encoded_size, propose, propose_when_ready, too_large};
use super::relay::{ConnectionRouting, Forwarded, forward};
use super::{Cluster, Route};
use crate::command::{self, CommandSpec, CrossSlot, Parsed, Read, Session, Write};
use crate::departure::Departure;
use crate::protocol::ReplyWriter;

/// Serves one parsed request in cluster mode. `departure`: when the client of a blocking
/// command leaves, it stops waiting.
pub async fn serve(
    session: &mut Session<'_>,
    cluster: &Arc<Cluster>,
    routing: &mut ConnectionRouting,
    (spec, parsed): (&'static CommandSpec, Parsed),
    (args, departure): (&[Bytes], &Departure),
    out: &mut ReplyWriter,
) {
    let (slot, write) = match &parsed {
        Parsed::Read(read) => (read.keys().slot(), false),
        Parsed::Write(write) => (write.keys().slot(), true),
        Parsed::Flush => return flush_led_partitions(cluster, out).await,
        Parsed::Server(handler) => {
            let reply_from = out.len();
            command::run_server(*handler, session, args, out);
            let failed = out.buffer().get(reply_from) == Some(&b'-');
            if spec.name == "script" && !failed {
                super::script::share_loaded(session, cluster, routing, args).await;
            }
            return;
        }
        Parsed::Cluster => return super::commands::run(session, cluster, args, out),
        Parsed::Transaction(command) => {
            return super::transaction::serve(session, cluster, routing, command.clone(), out)
                .await;
        }
        Parsed::Script(call) => {
            return super::script::serve(session, cluster, routing, call.clone(), args, out).await;
        }
    };
    let slot = match slot {
        Ok(Some(slot)) => slot,
        Ok(None) => {
            // Keyless reads (KEYS, SCAN, DBSIZE) answer for what this member holds.
            if let Parsed::Read(read) = &parsed {
                command::run_read(session, read, out);
            }
            return;
        }
        Err(CrossSlot) => {
            cluster.counters.crossslot.fetch_add(1, Ordering::Relaxed);
            out.error(CrossSlot::REPLY);
            return;
        }
    };
    let Some(partition) = cluster.partition_of(slot) else {
        out.error("CLUSTERDOWN Hash slot not served: this member has not joined a cluster yet");
        return;
    };
    // Refused where it arrives: never forwarded, copied or encoded (the leader checks the exact
    // encoded size again when it proposes).
    if write {
        let (size, limit) = (least_encoded_size(args), cluster.host().max_command_len());
        if size > limit {
            out.error(&too_large(size, limit));
            return;
        }
    }
    let (read, write_command) = match parsed {
        Parsed::Read(read) => (Some(read), None),
        Parsed::Write(write) => (None, Some(write)),
        _ => return,
    };
    if let Some(read) = &read
        && session.client.readonly
        && cluster.hosts(partition)
    {
        // READONLY: the client accepts a possibly stale answer from any replica.
        cluster.counters.reads_stale.fetch_add(1, Ordering::Relaxed);
        command::run_read(session, read, out);
        return;
    }
    // A blocking list command (BLPOP …) waits at the leader; its timeout runs from here.
    let blocking = write_command.as_ref().and_then(Write::blocking);
    let block_deadline = blocking.as_ref().map(|blocking| {
        blocking
            .timeout()
            .and_then(|timeout| Instant::now().checked_add(timeout))
    });
    // How much longer than usual a forwarded reply may take: the leader holds it while it waits.
    let block_wait = blocking.map(|blocking| blocking.timeout().unwrap_or(Duration::MAX));
    let mut deadline = Instant::now() + LEADER_WAIT;
    loop {
        match cluster.route(partition) {
            Route::Local => {
                let done = match (&read, &write_command) {
                    (_, Some(write)) if let Some(block_deadline) = block_deadline => {
                        let done = propose_when_ready(
                            session,
                            cluster,
                            (partition, spec, write),
                            (block_deadline, departure),
                            out,
                        )
                        .await;
                        // Leadership moved while it waited: the election gets its own wait.
                        deadline = Instant::now() + LEADER_WAIT;
                        done
                    }
                    (_, Some(write)) => {
                        // Decided here, at the leader, on the state it holds.
                        let proposal = PartitionCommand::Write {
                            now_ms: session.now_ms,
                            write: write
                                .clone()
                                .resolve(&session.shared.keyspace, session.now_ms),
                        };
                        propose(session, cluster, partition, spec, &proposal, out).await
                    }
                    (Some(read), None) => {
                        read_here(session, cluster, routing, partition, read, out).await
                    }
                    (None, None) => true,
                };
                if done {
                    return;
                }
            }
            Route::Remote(leader) => {
                if session.client.cluster_aware {
                    cluster.counters.moved.fetch_add(1, Ordering::Relaxed);
                    out.error(&format!("MOVED {slot} {}", leader.client_address()));
                } else {
                    let forwarding = forward(
                        session,
                        cluster,
                        routing,
                        (partition, leader.client_address()),
                        (write, block_wait),
                        args,
                        out,
                    );
                    let forwarded = if block_wait.is_some() {
                        // A blocking command waits at the leader: when its client leaves, the
                        // forwarding connection is closed, which ends the wait there too.
                        tokio::select! {
                            forwarded = forwarding => forwarded,
                            () = departure.left() => return,
                        }
                    } else {
                        forwarding.await
                    };
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
                return;
            }
            Route::Unknown => {}
        }
        if Instant::now() >= deadline {
            out.error(&format!(
                "CLUSTERDOWN partition {partition} (slot {slot}) has no leader right now; retry"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A linearizable read; `false` when this member turned out not to lead.
async fn read_here(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    partition: u32,
    read: &Read,
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
    command::run_read(session, read, out);
    true
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
    use crate::command::Kind;
    use crate::store::key_slot;

    fn slot_of(args: &[&str]) -> Result<Option<u16>, CrossSlot> {
        let args: Vec<Bytes> = args
            .iter()
            .map(|arg| Bytes::from(arg.to_string()))
            .collect();
        let name = args[0].to_ascii_lowercase();
        let spec = command::lookup(&name).expect("known command");
        match spec.kind {
            Kind::Read(parse) => parse(&args).expect("parses").keys().slot(),
            Kind::Write(parse) => parse(&args, 0).expect("parses").keys().slot(),
            _ => Ok(None),
        }
    }

    #[test]
    fn slots_follow_the_keys_of_the_parsed_command() {
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
