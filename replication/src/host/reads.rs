//! Reads: [`ReplicationHost::linearizable_read`] (ReadIndex, or a leader lease checked in the
//! published metrics), then [`ReplicationHost::read_local`].

use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::ServerState;
use openraft::errors::{LinearizableReadError, RaftError};
use openraft::type_config::async_runtime::watch::WatchReceiver;

use super::{Group, ReplicationHost, leader_hint};
use crate::{GroupId, ReadError, ReadPolicy, StateMachine};

/// The share of the election timeout a leader lease gives up for clock-rate differences between
/// a leader and its followers.
pub(crate) const LEASE_DRIFT_MARGIN: f64 = 0.2;

impl<S: StateMachine> ReplicationHost<S> {
    /// Confirms that this host is the leader of `group` and that its state machine has applied
    /// everything committed before the call; the caller then reads its local state machine
    /// ([`read_local`](Self::read_local)) and the read is linearizable.
    pub async fn linearizable_read(&self, group: GroupId) -> Result<(), ReadError> {
        if self.shutting_down() {
            return Err(ReadError::ShuttingDown);
        }
        let hosted = self.group(group).ok_or(ReadError::GroupNotHosted(group))?;
        let timeout = self.inner.config.read_timeout;
        let hosted = &hosted;
        let confirm = |policy| async move {
            match tokio::time::timeout(timeout, hosted.raft.ensure_linearizable(policy)).await {
                Err(_) => Err(ReadError::Unavailable {
                    reason: format!("not confirmed within {timeout:?}"),
                }),
                Ok(Ok(_)) => Ok(()),
                Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(forward)))) => {
                    Err(ReadError::NotLeader {
                        leader: leader_hint(&forward),
                    })
                }
                Ok(Err(error)) => Err(ReadError::Unavailable {
                    reason: error.to_string(),
                }),
            }
        };
        match self.inner.config.read_policy {
            ReadPolicy::ReadIndex => confirm(openraft::ReadPolicy::ReadIndex).await,
            ReadPolicy::LeaderLease if lease_valid_in_metrics(hosted, self.leader_lease()) => {
                Ok(())
            }
            // No lease (a new leader, or heartbeats late): confirm with a heartbeat round.
            // openraft's own lease check has no margin for clock drift, so it is not used.
            ReadPolicy::LeaderLease => confirm(openraft::ReadPolicy::ReadIndex).await,
        }
    }

    /// How long a quorum acknowledgement keeps this host's leadership certain. Followers
    /// refuse to vote for anyone else for the maximum election timeout after they hear from
    /// their leader (a restarted one for that long after it starts), measured by their clocks;
    /// the lease is [`LEASE_DRIFT_MARGIN`] shorter, measured from when the acknowledged
    /// heartbeat was sent, so clocks that run at rates up to that far apart keep it safe.
    fn leader_lease(&self) -> Duration {
        self.inner
            .config
            .election_timeout
            .1
            .mul_f64(1.0 - LEASE_DRIFT_MARGIN)
    }

    /// Runs `read` on this host's state machine of `group` (`None` if not hosted). Linearizable
    /// only right after a successful [`linearizable_read`](Self::linearizable_read); otherwise
    /// it may be stale.
    pub fn read_local<R>(&self, group: GroupId, read: impl FnOnce(&S) -> R) -> Option<R> {
        let hosted = self.group(group)?;
        let machine = hosted.machine.read();
        Some(read(&machine))
    }
}

/// The lease read of openraft's core (`ensure_linearizable(LeaseRead)`), decided from the
/// metrics the core publishes instead of a round trip through the core task: that round trip
/// cost GET about a fifth of its throughput. Every check errs on the safe side, and a `false`
/// sends the read through openraft, which decides for itself:
/// - leader, and not handing leadership over (openraft refuses reads during a transfer);
/// - a quorum acknowledged this leader less than a lease ago (metrics publish an older
///   acknowledgement at worst, never a newer one);
/// - an entry this leader proposed is applied here: the first one it appended on election is
///   applied, and with it everything earlier leaders committed (leaders are never restored from
///   disk after a restart, so that entry really was committed in this leadership). Writes this
///   leader acknowledged were applied before their reply, so the local state holds every
///   completed write.
fn lease_valid_in_metrics<S: StateMachine>(hosted: &Group<S>, lease: Duration) -> bool {
    let metrics = hosted.raft.metrics();
    let metrics = metrics.borrow_watched();
    let term = metrics.current_term;
    metrics.state == ServerState::Leader
        && hosted.transfer_started_in_term.load(Ordering::Acquire) != term
        && metrics
            .last_applied
            .as_ref()
            .is_some_and(|applied| applied.leader_id == metrics.vote.leader_id)
        && metrics
            .last_quorum_acked
            .as_ref()
            .is_some_and(|acked| openraft::Instant::elapsed(&**acked) < lease)
}
