//! The move phase's IO: runs the mover's [`Action`]s as admin calls, all at once, each with a short
//! timeout. Nothing here waits for a move to finish: a call that times out may still complete, and
//! the next reconcile observes whether it did. Every call is idempotent on the node.

use std::time::Duration;

use ringcache_admin::{
    AdminClient, AdminClientError, ClusterSettings, ErrorKind, HostRequest, JoinRequest, Replica,
};
use ringcache_placement::{Action, MemberId};

use super::data_plane::DataPlane;

/// Timeout of one move call. Promotion and leadership transfer wait on the node for the learner or
/// the new leader; the mover only issues them once it observed they can finish quickly.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an action failed, as a fixed category (a metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The member has no pod IP or did not answer.
    Unreachable,
    /// No answer within [`CALL_TIMEOUT`] (the call may still complete).
    Timeout,
    /// The member is not the partition's leader (leadership moved since the observation).
    NotLeader,
    /// The node refused the change for now (another change in flight, still a member, …).
    Refused,
    /// Any other answer of the node.
    Failed,
}

impl FailureReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Unreachable => "unreachable",
            FailureReason::Timeout => "timeout",
            FailureReason::NotLeader => "not_leader",
            FailureReason::Refused => "refused",
            FailureReason::Failed => "failed",
        }
    }
}

/// The outcome of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionResult {
    pub action: Action,
    /// `None` when it succeeded; else the category and the error in a sentence.
    pub failure: Option<(FailureReason, String)>,
}

/// Runs every action concurrently and returns their outcomes in the same order.
pub async fn execute(
    actions: &[Action],
    plane: &DataPlane,
    settings: ClusterSettings,
) -> Vec<ActionResult> {
    let seeds = plane.joined_members();
    let calls = actions
        .iter()
        .map(|action| run_one(*action, plane, settings, &seeds));
    futures::future::join_all(calls).await
}

async fn run_one(
    action: Action,
    plane: &DataPlane,
    settings: ClusterSettings,
    seeds: &[Replica],
) -> ActionResult {
    let client_of = |member: MemberId| {
        plane
            .addresses
            .get(&member)
            .map(|address| AdminClient::new(address.clone()).with_timeout(CALL_TIMEOUT))
            .ok_or_else(|| {
                (
                    FailureReason::Unreachable,
                    format!("member {member} has no pod IP"),
                )
            })
    };
    let result: Result<(), (FailureReason, String)> = async {
        match action {
            Action::Join { member } => {
                let request = JoinRequest {
                    settings,
                    members: seeds.to_vec(),
                };
                admin(client_of(member)?.join(&request).await)
            }
            Action::Host { partition, member } => admin(
                client_of(member)?
                    .host_partition(partition, &HostRequest { settings })
                    .await,
            ),
            Action::AddLearner {
                partition,
                leader,
                member,
                id,
            } => {
                let replica = plane
                    .statuses
                    .get(&member)
                    .map(|status| status.member.clone())
                    .filter(|replica| replica.id == id)
                    .ok_or_else(|| {
                        (
                            FailureReason::Unreachable,
                            format!("member {member} no longer answers with id {id}"),
                        )
                    })?;
                admin(client_of(leader)?.add_learner(partition, &replica).await)
            }
            Action::Promote {
                partition,
                leader,
                id,
            } => admin(client_of(leader)?.promote(partition, id).await),
            Action::TransferLeadership {
                partition,
                leader,
                id,
                ..
            } => admin(client_of(leader)?.transfer_leadership(partition, id).await),
            Action::RemoveReplica {
                partition,
                leader,
                replica,
            } => admin(
                client_of(leader)?
                    .remove_replica(partition, replica.id)
                    .await,
            ),
            Action::Drop { partition, member } => {
                admin(client_of(member)?.drop_partition(partition).await)
            }
        }
    }
    .await;
    if let Err((reason, message)) = &result {
        tracing::debug!(?action, reason = reason.as_str(), %message, "move call failed");
    }
    ActionResult {
        action,
        failure: result.err(),
    }
}

fn admin<T>(result: Result<T, AdminClientError>) -> Result<(), (FailureReason, String)> {
    result
        .map(drop)
        .map_err(|error| (categorize(&error), error.to_string()))
}

fn categorize(error: &AdminClientError) -> FailureReason {
    match error {
        AdminClientError::Timeout { .. } => FailureReason::Timeout,
        AdminClientError::Connect { .. } | AdminClientError::Io { .. } => {
            FailureReason::Unreachable
        }
        AdminClientError::Api { body, .. } => match body.kind {
            ErrorKind::NotLeader => FailureReason::NotLeader,
            ErrorKind::Refused => FailureReason::Refused,
            ErrorKind::Timeout => FailureReason::Timeout,
            ErrorKind::Unavailable => FailureReason::Unreachable,
            _ => FailureReason::Failed,
        },
        _ => FailureReason::Failed,
    }
}
