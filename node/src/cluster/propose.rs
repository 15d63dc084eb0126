//! Writes in cluster mode, at the partition's leader: a parsed write proposed through the
//! partition's log (after evicting for room under `maxmemory`), its outcome answered, and the
//! wait of a blocking command (BLPOP, BZPOPMIN, …) that proposes its attempt only once there is
//! something to pop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcache_replication::ProposeError;
use serde_bytes::ByteBuf;

use super::machine::PartitionCommand;
use super::{Cluster, Route};
use crate::command::atomic::{Atomic, Outcome};
use crate::command::{CommandSpec, Flags, Session, Write};
use crate::departure::Departure;
use crate::protocol::{Frame, ReplyWriter};
use crate::store::key_slot;

/// How long a request waits for a partition without a known leader (an election) before it
/// answers `-CLUSTERDOWN`.
pub(super) const LEADER_WAIT: Duration = Duration::from_secs(3);

/// How often a blocked command (BLPOP …) waiting at the leader checks that this member still
/// leads the partition.
const LEADERSHIP_CHECK: Duration = Duration::from_millis(200);

/// Proposes a write; `false` when this member turned out not to lead (route again).
pub(super) async fn propose(
    session: &mut Session<'_>,
    cluster: &Cluster,
    partition: u32,
    spec: &'static CommandSpec,
    proposal: &PartitionCommand,
    out: &mut ReplyWriter,
) -> bool {
    if let Err(error) = evict_for_room(session, cluster).await
        && spec.flags.contains(Flags::DENY_OOM)
    {
        out.error(&error);
        return true;
    }
    let outcome = cluster.host().propose(partition, proposal).await;
    answer_proposal(cluster, outcome, out)
}

/// Writes a proposal's outcome; `false` when this member turned out not to lead (route again).
fn answer_proposal(
    cluster: &Cluster,
    outcome: Result<Frame, ProposeError>,
    out: &mut ReplyWriter,
) -> bool {
    match outcome {
        Ok(reply) => {
            cluster
                .counters
                .proposals_committed
                .fetch_add(1, Ordering::Relaxed);
            out.frame(&reply);
            true
        }
        Err(ProposeError::NotLeader { .. }) => {
            cluster
                .counters
                .proposals_not_leader
                .fetch_add(1, Ordering::Relaxed);
            false
        }
        Err(error) => {
            answer_error(cluster, error, out);
            true
        }
    }
}

/// Writes the error of a proposal that failed other than for leadership.
pub(super) fn answer_error(cluster: &Cluster, error: ProposeError, out: &mut ReplyWriter) {
    match error {
        ProposeError::TooLarge { size, limit } => out.error(&too_large(size, limit)),
        error if error.definitely_not_applied() => {
            out.error(&format!("TRYAGAIN the write was not applied: {error}"));
        }
        error => {
            cluster
                .counters
                .proposals_unknown
                .fetch_add(1, Ordering::Relaxed);
            out.error(&format!(
                "ERR outcome unknown: the write may or may not have been applied ({error}); \
                 read the key to find out"
            ));
        }
    }
}

/// A blocking list command at the partition's leader: proposed (as its single attempt) only once
/// this member's state shows one of its keys with elements, so waiting adds nothing to the log;
/// meanwhile it waits for a push to one of them (applied here from the log, whichever member
/// the push arrived at) or for `deadline` (`None`: forever), which answers the null array, or
/// for its client to leave (nothing answered). An attempt that commits after another client
/// took the elements answers the null array too, and the wait goes on. `false` when this member
/// no longer leads (route again: a plain client's request is forwarded to the new leader, where
/// its timeout starts over).
pub(super) async fn propose_when_ready(
    session: &mut Session<'_>,
    cluster: &Cluster,
    (partition, spec, write): (u32, &'static CommandSpec, &Write),
    (deadline, departure): (Option<Instant>, &Departure),
    out: &mut ReplyWriter,
) -> bool {
    let keyspace = &session.shared.keyspace;
    let Some(blocking) = write.blocking() else {
        return true;
    };
    loop {
        if departure.happened() {
            return true;
        }
        if cluster.route(partition) != Route::Local {
            return false;
        }
        // Subscribed before looking, so a push right after the look is not missed.
        let pushed = keyspace.list_pushed(blocking.keys());
        let now_ms = crate::store::unix_ms();
        if blocking.ready(keyspace, now_ms) {
            if let Err(error) = evict_for_room(session, cluster).await
                && spec.flags.contains(Flags::DENY_OOM)
            {
                out.error(&error);
                return true;
            }
            let proposal = PartitionCommand::Write {
                now_ms,
                write: write.clone(),
            };
            let outcome = cluster.host().propose(partition, &proposal).await;
            if !matches!(outcome, Ok(Frame::NullArray)) {
                return answer_proposal(cluster, outcome, out);
            }
            continue;
        }
        // Woken by a push, or after a while to check the leadership again.
        let check = Instant::now() + LEADERSHIP_CHECK;
        let wake = deadline.map_or(check, |deadline| deadline.min(check));
        tokio::select! {
            () = pushed => {}
            () = tokio::time::sleep_until(wake.into()) => {}
            () = departure.left() => return true,
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            out.null_array();
            return true;
        }
    }
}

/// Commits the writes of a transaction or script as one log entry (evicting for room first when
/// it writes) and says how applying it ended (an unreadable answer counts as a conflict: run
/// again).
pub(super) async fn commit_atomic(
    session: &Session<'_>,
    cluster: &Cluster,
    partition: u32,
    atomic: Atomic,
) -> Result<Outcome, ProposeError> {
    if !atomic.writes.is_empty() {
        let _ = evict_for_room(session, cluster).await;
    }
    let proposal = PartitionCommand::Write {
        now_ms: session.now_ms,
        write: Write::Atomic(atomic),
    };
    let frame = cluster.host().propose(partition, &proposal).await?;
    Ok(Outcome::of(&frame).unwrap_or(Outcome::Conflict))
}

/// A lower bound of a write's size once encoded for the log: each argument and its length.
pub(super) fn least_encoded_size(args: &[Bytes]) -> usize {
    args.iter().map(|arg| arg.len() + 8).sum()
}

/// The answer to a write over `--max-write-size`.
pub(super) fn too_large(size: usize, limit: usize) -> String {
    format!(
        "ERR write of {size} bytes exceeds max-write-size ({limit} bytes): nothing was changed; \
         split the value, or raise --max-write-size (at most 63mb)"
    )
}

/// Over `maxmemory`: evicts keys of partitions this member leads, chosen by the policy and
/// deleted through each partition's log (so every replica evicts the same keys). Fails with the
/// `-OOM` text when over the limit and nothing here may be evicted.
pub(super) async fn evict_for_room(session: &Session<'_>, cluster: &Cluster) -> Result<(), String> {
    /// Victims per write, so one write never stalls on a huge eviction.
    const MAX_VICTIMS: usize = 64;
    let keyspace = &session.shared.keyspace;
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
        .choose_victims(session.now_ms, led, MAX_VICTIMS)
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
