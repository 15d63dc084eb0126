//! MULTI/EXEC/WATCH in cluster mode. A transaction's keys must hash to one slot; it runs at that
//! partition's leader (see `crate::transaction`) and commits as one log entry, so a leader
//! failure leaves it wholly applied or not at all.
//!
//! A cluster-aware client is redirected (`-MOVED`) to the leader like for any keyed command. A
//! plain client's transaction is carried to the leader on this connection's forwarding
//! connection: WATCH is forwarded there (the watch then lives in that connection's state at the
//! leader, where the client's forwarded reads run too), and EXEC sends MULTI, the queued
//! requests and EXEC on the same connection. When the leader changed or that connection was
//! replaced in between, the watch is gone with it, and EXEC answers null (aborted) without
//! sending anything: nothing is applied on a watch that was not kept.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcache_replication::{ProposeError, ReadError};

use super::propose::{LEADER_WAIT, answer_error, commit_atomic};
use super::relay::ConnectionRouting;
use super::{Cluster, Route};
use crate::command::atomic::Outcome;
use crate::command::multi::{RemoteWatch, TxCommand};
use crate::command::{self, CrossSlot, Keys, Parsed, Session};
use crate::protocol::ReplyWriter;
use crate::transaction::{self, MAX_ATTEMPTS, Queued, TOO_BUSY};

/// Serves MULTI, EXEC, DISCARD, WATCH, UNWATCH.
pub async fn serve(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    command: TxCommand,
    out: &mut ReplyWriter,
) {
    match command {
        TxCommand::Multi => transaction::multi(&mut session.client.transaction, out),
        TxCommand::Discard => {
            if session.client.transaction.in_multi() {
                drop_remote_watch(session, cluster, routing).await;
            }
            transaction::discard(&mut session.client.transaction, out)
        }
        TxCommand::Unwatch => {
            drop_remote_watch(session, cluster, routing).await;
            session.client.transaction.unwatch();
            out.ok();
        }
        TxCommand::Watch(keys) => watch(session, cluster, routing, &keys, out).await,
        TxCommand::Exec => exec(session, cluster, routing, out).await,
    }
}

/// A watch forwarded to a leader is dropped there too, so a later transaction on the same
/// forwarding connection is not checked against it.
async fn drop_remote_watch(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
) {
    if let Some(remote) = session.client.transaction.remote.take() {
        let access = session.shared.peer_access();
        let _ = routing
            .forwarder
            .forward_pinned(
                &remote.address,
                cluster.host().source_address(),
                crate::protocol::Protocol::Resp2,
                &access,
                &[Bytes::from_static(b"UNWATCH")],
            )
            .await;
    }
}

/// The route to `partition`'s leader, waiting out an election; `None` after [`LEADER_WAIT`].
async fn leader_of(cluster: &Cluster, partition: u32) -> Option<Route> {
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        match cluster.route(partition) {
            Route::Unknown if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Route::Unknown => return None,
            route => return Some(route),
        }
    }
}

fn no_leader(partition: u32, slot: u16) -> String {
    format!("CLUSTERDOWN partition {partition} (slot {slot}) has no leader right now; retry")
}

async fn watch(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    keys: &[Bytes],
    out: &mut ReplyWriter,
) {
    if session.client.transaction.in_multi() {
        out.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let slot = match Keys::many(keys).slot() {
        Ok(Some(slot)) => slot,
        Ok(None) => return out.ok(),
        Err(CrossSlot) => return out.error(CrossSlot::REPLY),
    };
    let Some(partition) = cluster.partition_of(slot) else {
        out.error("CLUSTERDOWN Hash slot not served: this member has not joined a cluster yet");
        return;
    };
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        match leader_of(cluster, partition).await {
            None => return out.error(&no_leader(partition, slot)),
            Some(Route::Local) => {
                // The digests must be the leader's, current: confirm the leadership first.
                match cluster.host().linearizable_read(partition).await {
                    Ok(()) => {
                        let state = &mut session.client.transaction;
                        if state.remote.is_some() {
                            // Watches in two places cannot be checked by one EXEC.
                            state.dirty = true;
                        }
                        return transaction::watch_here(session, keys, out);
                    }
                    Err(ReadError::NotLeader { .. }) | Err(ReadError::Unavailable { .. })
                        if Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(error) => {
                        return out.error(&format!("TRYAGAIN watch not confirmed: {error}"));
                    }
                }
            }
            Some(Route::Remote(leader)) => {
                let address = leader.client_address().to_owned();
                if session.client.cluster_aware {
                    return out.error(&format!("MOVED {slot} {address}"));
                }
                let mut request = vec![Bytes::from_static(b"WATCH")];
                request.extend(keys.iter().cloned());
                let access = session.shared.peer_access();
                let reply = routing
                    .forwarder
                    .forward_pinned(
                        &address,
                        cluster.host().source_address(),
                        out.protocol(),
                        &access,
                        &request,
                    )
                    .await;
                match reply {
                    Ok((reply, link)) if &reply[..] == b"+OK\r\n" => {
                        let state = &mut session.client.transaction;
                        let kept = RemoteWatch { address, link };
                        if !state.watched.is_empty()
                            || state.remote.as_ref().is_some_and(|known| *known != kept)
                        {
                            state.dirty = true;
                        }
                        state.remote = Some(kept);
                        return out.ok();
                    }
                    Ok((reply, _)) if reply.starts_with(b"-MOVED") && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Ok((reply, _)) => {
                        out.buffer_mut().extend_from_slice(&reply);
                        return;
                    }
                    Err(error) => return out.error(&format!("TRYAGAIN {error}")),
                }
            }
            Some(Route::Unknown) => {}
        }
    }
}

/// The one slot of a transaction's keys (queued requests and watched keys); `Ok(None)` when it
/// names none.
fn transaction_slot(session: &Session<'_>, queued: &Queued) -> Result<Option<u16>, CrossSlot> {
    let mut slot =
        Keys::Many(queued.watched.iter().map(|guard| &guard.key[..]).collect()).slot()?;
    for args in &queued.commands {
        let Some(spec) = args.first().and_then(|name| command::find(name)) else {
            continue;
        };
        // A request that does not parse answers its error inside EXEC and names no key.
        let Ok(parsed) = command::parse_checked(spec, args, session.now_ms) else {
            continue;
        };
        let keys = match &parsed {
            Parsed::Read(read) => read.keys().slot(),
            Parsed::Write(write) => write.keys().slot(),
            Parsed::Script(call) => call.keys().slot(),
            _ => Ok(None),
        }?;
        match (slot, keys) {
            (Some(known), Some(other)) if known != other => return Err(CrossSlot),
            (None, Some(other)) => slot = Some(other),
            _ => {}
        }
    }
    Ok(slot)
}

async fn exec(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    out: &mut ReplyWriter,
) {
    let Some(queued) = transaction::take_for_exec(&mut session.client.transaction, out) else {
        return;
    };
    let remote = session.client.transaction.remote.take();
    let slot = match transaction_slot(session, &queued) {
        Ok(slot) => slot,
        Err(CrossSlot) => return out.error(CrossSlot::REPLY),
    };
    let Some(slot) = slot else {
        // No key anywhere (MULTI PING EXEC): nothing to route, nothing to commit.
        let (replies, _, held) =
            transaction::run_queued(session, &queued, Some(None), out.protocol());
        held.deliver(&session.shared.pubsub);
        out.buffer_mut().extend_from_slice(replies.buffer());
        return;
    };
    let Some(partition) = cluster.partition_of(slot) else {
        out.error("CLUSTERDOWN Hash slot not served: this member has not joined a cluster yet");
        return;
    };
    let deadline = Instant::now() + LEADER_WAIT;
    'route: loop {
        match leader_of(cluster, partition).await {
            None => return out.error(&no_leader(partition, slot)),
            Some(Route::Local) => {
                if remote.is_some() {
                    // The watch was kept by another leader, now gone.
                    return out.null_array();
                }
                for _ in 0..MAX_ATTEMPTS {
                    let (replies, atomic, held) =
                        transaction::run_queued(session, &queued, Some(Some(slot)), out.protocol());
                    match commit_atomic(session, cluster, partition, atomic).await {
                        Ok(Outcome::Aborted) => return out.null_array(),
                        Ok(Outcome::Applied) => {
                            held.deliver(&session.shared.pubsub);
                            out.buffer_mut().extend_from_slice(replies.buffer());
                            return;
                        }
                        Ok(Outcome::Conflict) => session.now_ms = crate::store::unix_ms(),
                        Err(ProposeError::NotLeader { .. }) if Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue 'route;
                        }
                        Err(error) => return answer_error(cluster, error, out),
                    }
                }
                return out.error(TOO_BUSY);
            }
            Some(Route::Remote(leader)) => {
                let address = leader.client_address().to_owned();
                if session.client.cluster_aware {
                    return out.error(&format!("MOVED {slot} {address}"));
                }
                return forward_exec(session, cluster, routing, (&address, remote), &queued, out)
                    .await;
            }
            Some(Route::Unknown) => {}
        }
    }
}

/// A plain client's transaction, sent to the leader at `address` as MULTI, the queued requests
/// and EXEC, on the connection that holds its watch (if it watched).
async fn forward_exec(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    (address, remote): (&str, Option<RemoteWatch>),
    queued: &Queued,
    out: &mut ReplyWriter,
) {
    let protocol = out.protocol();
    if let Some(remote) = &remote
        && (remote.address != address
            || routing.forwarder.link(address, protocol) != Some(remote.link))
    {
        // The leader or the connection changed since WATCH: the watch is lost, so the
        // transaction is aborted as if a watched key had changed.
        return out.null_array();
    }
    let access = session.shared.peer_access();
    let source = cluster.host().source_address();
    let nothing_applied =
        |detail: &str| format!("TRYAGAIN the transaction was not applied: {detail}");
    let mut link = remote.as_ref().map(|remote| remote.link);
    let mut requests: Vec<Vec<Bytes>> = vec![vec![Bytes::from_static(b"MULTI")]];
    requests.extend(queued.commands.iter().cloned());
    let last = requests.len();
    requests.push(vec![Bytes::from_static(b"EXEC")]);
    for (index, request) in requests.iter().enumerate() {
        let reply = routing
            .forwarder
            .forward_pinned(address, source, protocol, &access, request)
            .await;
        let (reply, used) = match reply {
            Ok(answer) => answer,
            Err(error) if index == last => {
                let sent = matches!(
                    error,
                    super::forward::ForwardError::Sent { .. }
                        | super::forward::ForwardError::Abandoned { sent: true, .. }
                );
                return out.error(&if sent {
                    format!(
                        "ERR outcome unknown: the transaction may or may not have been applied \
                         ({error}); read its keys to find out"
                    )
                } else {
                    nothing_applied(&error.to_string())
                });
            }
            Err(error) => return out.error(&nothing_applied(&error.to_string())),
        };
        if *link.get_or_insert(used) != used {
            // A new connection: whatever the leader held for this transaction is gone.
            return out.error(&nothing_applied(
                "the connection to the leader was replaced",
            ));
        }
        if index == 0 && &reply[..] != b"+OK\r\n" {
            return out.error(&nothing_applied(&String::from_utf8_lossy(&reply)));
        }
        if index == last {
            if reply.starts_with(b"-MOVED") {
                return out.error(&nothing_applied("the partition's leader moved"));
            }
            out.buffer_mut().extend_from_slice(&reply);
        }
    }
}
