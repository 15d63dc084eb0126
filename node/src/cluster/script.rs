//! EVAL and kin in cluster mode. The declared keys must hash to one slot; the script runs at
//! that partition's leader on copies of the keys it touches (undeclared keys must be in the
//! same slot) and its effects commit as one log entry (see `crate::transaction`). A script
//! without keys runs where it arrives and may touch the keys of one partition this member
//! leads. A cluster-aware client is redirected to the leader; a plain client's request is
//! forwarded (EVALSHA as EVAL when the leader may not have loaded the script).

use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcache_replication::ProposeError;

use super::propose::{LEADER_WAIT, answer_error, commit_atomic};
use super::relay::{ConnectionRouting, forward};
use super::{Cluster, Route};
use crate::command::atomic::Outcome;
use crate::command::eval::{ScriptBody, ScriptCall};
use crate::command::{CrossSlot, Session};
use crate::protocol::ReplyWriter;
use crate::script::ScriptError;
use crate::transaction::script::{Prepared, answer, prepare, run_fresh};
use crate::transaction::{MAX_ATTEMPTS, TOO_BUSY};

const NOT_LOCAL: &str = "ERR Script attempted to access a non local key in a cluster node";

pub async fn serve(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    call: ScriptCall,
    args: &[Bytes],
    out: &mut ReplyWriter,
) {
    let slot = match call.keys().slot() {
        Ok(slot) => slot,
        Err(CrossSlot) => {
            return out.error(CrossSlot::REPLY);
        }
    };
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        let route = match slot {
            None => Route::Local,
            Some(slot) => match cluster.partition_of(slot) {
                None => {
                    return out.error(
                        "CLUSTERDOWN Hash slot not served: this member has not joined a cluster yet",
                    );
                }
                Some(partition) => cluster.route(partition),
            },
        };
        match route {
            Route::Local => {
                let script = match prepare(session.shared, &call) {
                    Ok(script) => script,
                    Err(error) => return out.error(&error),
                };
                if run_here(session, cluster, (&call, &script), slot, out).await {
                    return;
                }
            }
            Route::Remote(leader) => {
                let slot = slot.unwrap_or_default();
                let address = leader.client_address().to_owned();
                if session.client.cluster_aware {
                    return out.error(&format!("MOVED {slot} {address}"));
                }
                let request = match &call.body {
                    ScriptBody::Sha(sha) => match session.shared.scripts.get(sha) {
                        Some(source) => call.as_eval(source),
                        None => args.to_vec(),
                    },
                    ScriptBody::Source(_) => args.to_vec(),
                };
                let partition = cluster.partition_of(slot).unwrap_or_default();
                forward(
                    session,
                    cluster,
                    routing,
                    (partition, &address),
                    (true, None),
                    &request,
                    out,
                )
                .await;
                return;
            }
            Route::Unknown => {}
        }
        if Instant::now() >= deadline {
            return out.error("CLUSTERDOWN the script's partition has no leader right now; retry");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the script here and commits its effects; `false` when this member turned out not to
/// lead the partition (route again).
async fn run_here(
    session: &mut Session<'_>,
    cluster: &Cluster,
    (call, script): (&ScriptCall, &Prepared),
    slot: Option<u16>,
    out: &mut ReplyWriter,
) -> bool {
    for _ in 0..MAX_ATTEMPTS {
        let (scratch, result) = run_fresh(session, call, script, Some(slot));
        if matches!(result, Err(ScriptError::Killed(_))) {
            answer(result, out);
            return true;
        }
        let Some(touched) = scratch.slot() else {
            // It touched no key: nothing to commit.
            scratch.finish(Vec::new()).1.deliver(&session.shared.pubsub);
            answer(result, out);
            return true;
        };
        let Some(partition) = cluster.partition_of(touched) else {
            out.error(NOT_LOCAL);
            return true;
        };
        if slot.is_none() && cluster.route(partition) != Route::Local {
            out.error(NOT_LOCAL);
            return true;
        }
        let (atomic, held) = scratch.finish(Vec::new());
        match commit_atomic(session, cluster, partition, atomic).await {
            Ok(Outcome::Applied | Outcome::Aborted) => {
                held.deliver(&session.shared.pubsub);
                answer(result, out);
                return true;
            }
            Ok(Outcome::Conflict) => session.now_ms = crate::store::unix_ms(),
            Err(ProposeError::NotLeader { .. }) if slot.is_some() => return false,
            Err(ProposeError::NotLeader { .. }) => {
                out.error(NOT_LOCAL);
                return true;
            }
            Err(error) => {
                answer_error(cluster, error, out);
                return true;
            }
        }
    }
    out.error(TOO_BUSY);
    true
}

/// SCRIPT LOAD and SCRIPT FLUSH that succeeded here are passed on to every other member (not by a member that
/// received them from another), so a script loaded anywhere runs by SHA1 everywhere: cluster
/// clients send EVALSHA to the key's leader, and clients that load on one node only (redis-py
/// sees a member that leads some slots and follows others as a replica) would get NOSCRIPT.
pub async fn share_loaded(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    args: &[Bytes],
) {
    let shared_subcommand = args
        .get(1)
        .is_some_and(|sub| sub.eq_ignore_ascii_case(b"load") || sub.eq_ignore_ascii_case(b"flush"));
    if !shared_subcommand || session.client.from_member {
        return;
    }
    let access = session.shared.peer_access();
    let me = cluster.member().id;
    for member in cluster.known_members() {
        if member.id == me {
            continue;
        }
        // A member that is down misses it; EVAL (which redis-py falls back to) loads it there.
        let _ = routing
            .forwarder
            .forward_pinned(
                member.client_address(),
                cluster.host().source_address(),
                crate::protocol::Protocol::Resp2,
                &access,
                args,
            )
            .await;
    }
}
