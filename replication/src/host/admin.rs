//! Membership changes run on a group's leader (add learner, promote, change voters, transfer
//! leadership, remove): each is idempotent and serialized per group on this host. What each one
//! does is decided by the pure functions of `crate::membership`; this file reads the status and
//! runs the change.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use openraft::errors::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use super::{Group, POLL, ReplicationHost, leader_hint, status_of};
use crate::membership::{
    LearnerAddition, Promotion, Removal, caught_up, learner_addition, promotion, removal,
};
use crate::raft_types::RaftTypes;
use crate::status::{GroupStatus, Role};
use crate::{AdminError, GroupId, RaftNodeId, StateMachine};

/// How long a finished leadership transfer waits for the old leader's pending writes.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

impl<S: StateMachine> ReplicationHost<S> {
    /// Adds `node` (reachable at `address`) to `group` as a learner: it starts receiving the log
    /// (or a snapshot) but does not vote. The node must already [`host_group`](Self::host_group).
    /// Runs on the leader; returns once the change is committed. Idempotent.
    pub async fn add_learner(
        &self,
        group: GroupId,
        node: RaftNodeId,
        address: String,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        match learner_addition(&status, node, &address) {
            LearnerAddition::Add => {}
            LearnerAddition::AlreadyMember => return Ok(()),
            LearnerAddition::AddressConflict { known } => {
                return Err(AdminError::Refused(format!(
                    "{node} is already a member at {known}, not {address}"
                )));
            }
        }
        let raft = hosted.raft.clone();
        let change = async move { raft.add_learner(node, BasicNode::new(address), false).await };
        self.admin_result("add learner", change).await
    }

    /// Makes learner `node` a voter of `group`, after waiting until it has caught up with the
    /// leader's commit index. Runs on the leader. Idempotent.
    pub async fn promote(&self, group: GroupId, node: RaftNodeId) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        match promotion(&status, node) {
            Promotion::AlreadyVoter => return Ok(()),
            Promotion::UnknownNode => return Err(AdminError::UnknownNode(node)),
            Promotion::WaitThenPromote => {}
        }
        self.wait_caught_up(&hosted, node, status.committed_index)
            .await?;
        let raft = hosted.raft.clone();
        let change = async move {
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node])), false)
                .await
        };
        self.admin_result("promote", change).await
    }

    /// Sets the voters of `group` to exactly `voters` (joint consensus under the hood); voters
    /// left out are removed from the group. New voters must be learners already. Runs on the
    /// leader. Idempotent.
    pub async fn change_voters(
        &self,
        group: GroupId,
        voters: BTreeSet<RaftNodeId>,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        let current: BTreeSet<RaftNodeId> = status.voters.keys().copied().collect();
        if current == voters && !status.joint {
            return Ok(());
        }
        if let Some(unknown) = voters
            .iter()
            .find(|node| !status.voters.contains_key(node) && !status.learners.contains_key(node))
        {
            return Err(AdminError::UnknownNode(*unknown));
        }
        for node in voters.difference(&current) {
            self.wait_caught_up(&hosted, *node, status.committed_index)
                .await?;
        }
        let raft = hosted.raft.clone();
        let change = async move {
            raft.change_membership(ChangeMembers::ReplaceAllVoters(voters), false)
                .await
        };
        self.admin_result("change voters", change).await
    }

    /// Moves leadership of `group` to voter `to` and waits until `to` leads. Runs on the current
    /// leader (or anywhere once `to` already leads). Idempotent.
    pub async fn transfer_leadership(
        &self,
        group: GroupId,
        to: RaftNodeId,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let status = status_of(&hosted);
        if status.leader.as_ref().map(|(id, _)| *id) == Some(to) {
            return Ok(());
        }
        if status.role != Role::Leader {
            return Err(AdminError::NotLeader {
                leader: status.leader,
            });
        }
        if !status.voters.contains_key(&to) {
            return Err(AdminError::UnknownNode(to));
        }
        let deadline = Instant::now() + self.inner.config.admin_timeout;
        let mut last_trigger: Option<Instant> = None;
        // Writes this leader appended still wait for their answer here; see `answered_through`.
        let appended = status.last_log_index;
        loop {
            let status = status_of(&hosted);
            if status.leader.as_ref().map(|(id, _)| *id) == Some(to) {
                self.answered_through(&hosted, appended).await;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AdminError::Timeout {
                    operation: "transfer leadership",
                });
            }
            // Re-trigger now and then: a transfer can be lost if the target was briefly behind.
            let due = last_trigger.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
            if status.role == Role::Leader && due {
                // Before the trigger: no lease read may start on the metrics' word after it.
                hosted
                    .transfer_started_in_term
                    .store(status.term, Ordering::Release);
                hosted
                    .raft
                    .trigger()
                    .transfer_leader(to)
                    .await
                    .map_err(|_| AdminError::ShuttingDown)?;
                last_trigger = Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (at most [`ANSWER_WAIT`]) until this member applied `index`. A client write it
    /// appended as leader is answered when its entry is applied here, which needs the new
    /// leader's commit index to reach this member. The mover removes and drops the old leader
    /// right after a transfer, and a removed member may never hear that commit: writes still
    /// pending then were answered "outcome unknown (raft stopped)" although they were committed.
    async fn answered_through(&self, hosted: &Group<S>, index: Option<u64>) {
        let deadline = Instant::now() + ANSWER_WAIT;
        while status_of(hosted).applied_index < index && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
    }

    /// Removes `node` (voter or learner) from `group`. Runs on the leader, which refuses to remove
    /// itself: transfer leadership first. Idempotent. Afterwards the removed member should
    /// [`stop_group`](Self::stop_group).
    pub async fn remove_replica(&self, group: GroupId, node: RaftNodeId) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        let change = match removal(&status, node, self.inner.id) {
            Removal::RefuseLeaderSelf => return Err(AdminError::RemovingLeader(node)),
            Removal::AlreadyGone => return Ok(()),
            Removal::RemoveVoter => ChangeMembers::RemoveVoters(BTreeSet::from([node])),
            Removal::RemoveLearner => ChangeMembers::RemoveNodes(BTreeSet::from([node])),
        };
        let raft = hosted.raft.clone();
        let change = async move { raft.change_membership(change, false).await };
        self.admin_result("remove replica", change).await
    }

    fn admin_group(&self, group: GroupId) -> Result<Arc<Group<S>>, AdminError> {
        if self.shutting_down() {
            return Err(AdminError::ShuttingDown);
        }
        self.group(group).ok_or(AdminError::GroupNotHosted(group))
    }

    fn leader_status(&self, hosted: &Group<S>) -> Result<GroupStatus, AdminError> {
        let status = status_of(hosted);
        if status.role == Role::Leader {
            Ok(status)
        } else {
            Err(AdminError::NotLeader {
                leader: status.leader,
            })
        }
    }

    /// Waits until `node` holds the log up to `index` (so promoting it cannot stall commits).
    async fn wait_caught_up(
        &self,
        hosted: &Group<S>,
        node: RaftNodeId,
        index: Option<u64>,
    ) -> Result<(), AdminError> {
        let deadline = Instant::now() + self.inner.config.admin_timeout;
        loop {
            let status = self.leader_status(hosted)?;
            let matched = status.replication.get(&node).copied().flatten();
            if caught_up(matched, index) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AdminError::Timeout {
                    operation: "learner catch-up",
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs a membership change to its end in a task of its own: a change is two log entries
    /// (joint, then uniform) proposed by this future, and if it were dropped half-way (the admin
    /// caller went away: an operator restarted, a timeout) the group would stay in the joint
    /// configuration, needing a majority of both, until the next change settled it.
    async fn admin_result<T: Send + 'static>(
        &self,
        operation: &'static str,
        change: impl Future<Output = Result<T, RaftError<RaftTypes, ClientWriteError<RaftTypes>>>>
        + Send
        + 'static,
    ) -> Result<(), AdminError> {
        let change = tokio::spawn(change);
        match tokio::time::timeout(self.inner.config.admin_timeout, change).await {
            Err(_) => Err(AdminError::Timeout { operation }),
            Ok(Err(_)) => Err(AdminError::ShuttingDown),
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))))) => {
                Err(AdminError::NotLeader {
                    leader: leader_hint(&forward),
                })
            }
            Ok(Ok(Err(RaftError::APIError(error)))) => Err(AdminError::Refused(error.to_string())),
            Ok(Ok(Err(RaftError::Fatal(_)))) => Err(AdminError::ShuttingDown),
        }
    }
}
