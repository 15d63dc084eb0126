//! Per-connection cluster state, and carrying a request to the partition's leader for a plain
//! client (used by `dispatch`, and by transactions and scripts in `transaction`/`script`).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use super::forward::{ForwardError, Forwarder};
use super::{Cluster, Route};
use crate::command::Session;
use crate::protocol::ReplyWriter;

/// Per-connection cluster state.
#[derive(Default)]
pub struct ConnectionRouting {
    pub(super) forwarder: Forwarder,
    /// Partitions whose leadership was confirmed during the current batch: later reads of the
    /// batch need no new confirmation (they arrived before it completed).
    pub(super) confirmed: HashSet<u32>,
}

impl ConnectionRouting {
    /// Called when a new batch of requests starts.
    pub fn new_batch(&mut self) {
        self.confirmed.clear();
    }
}

/// How a forwarded request ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Forwarded {
    /// Answered (the reply, or an error, is in the output).
    Answered,
    /// A read whose leader was replaced before it answered; nothing is in the output.
    LeaderChangedBeforeReply,
}

/// Forwards to `partition`'s leader at `address`. A leader that stops answering (paused, cut
/// off) would hold the request until the forwarding timeout; once this member sees another
/// leader, the request is abandoned instead (see [`ForwardError::Abandoned`]): a read is retried
/// there, a write is reported as of unknown outcome (it was sent, so it may still apply).
/// `block_wait`: a blocking command's timeout, which the leader may hold the reply for (beyond
/// the forwarding timeout).
pub(super) async fn forward(
    session: &mut Session<'_>,
    cluster: &Cluster,
    routing: &mut ConnectionRouting,
    (partition, address): (u32, &str),
    (write, block_wait): (bool, Option<Duration>),
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> Forwarded {
    let access = session.shared.peer_access();
    let replaced = |waited_on: &str| match cluster.route(partition) {
        Route::Local => true,
        Route::Remote(leader) => leader.client_address() != waited_on,
        Route::Unknown => false,
    };
    let reply = routing
        .forwarder
        .forward_waiting(
            address,
            cluster.host().source_address(),
            out.protocol(),
            &access,
            (args, Some(&replaced), block_wait.unwrap_or_default()),
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
