//! The move phase's IO: runs the mover's [`Action`]s as admin calls, all at once, each with a short
//! timeout. Nothing here waits for a move to finish: a call that times out may still complete, and
//! the next reconcile observes whether it did. Every call is idempotent on the node.

use std::time::Duration;

use ringcache_admin::{
    AdminClientError, ClusterSettings, ErrorKind, HostRequest, JoinRequest, Replica,
};
use ringcache_placement::{Action, MemberId};

use super::data_plane::{Credential, DataPlane, is_unauthorized};

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
    /// The member refused the operator's cluster secret (HTTP 401): it does not have it.
    Unauthorized,
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
            FailureReason::Unauthorized => "unauthorized",
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
            .map(|address| {
                (
                    member,
                    plane.credential.client(address.clone(), CALL_TIMEOUT),
                )
            })
            .ok_or_else(|| {
                (
                    FailureReason::Unreachable,
                    format!("member {member} has no pod IP"),
                )
            })
    };
    let credential = &plane.credential;
    let result: Result<(), (FailureReason, String)> = async {
        match action {
            Action::Join { member } => {
                let request = JoinRequest {
                    settings,
                    members: seeds.to_vec(),
                };
                let (member, client) = client_of(member)?;
                admin(credential, member, client.join(&request).await)
            }
            Action::Host { partition, member } => {
                let (member, client) = client_of(member)?;
                admin(
                    credential,
                    member,
                    client
                        .host_partition(partition, &HostRequest { settings })
                        .await,
                )
            }
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
                let (leader, client) = client_of(leader)?;
                admin(
                    credential,
                    leader,
                    client.add_learner(partition, &replica).await,
                )
            }
            Action::Promote {
                partition,
                leader,
                id,
            } => {
                let (leader, client) = client_of(leader)?;
                admin(credential, leader, client.promote(partition, id).await)
            }
            Action::TransferLeadership {
                partition,
                leader,
                id,
                ..
            } => {
                let (leader, client) = client_of(leader)?;
                admin(
                    credential,
                    leader,
                    client.transfer_leadership(partition, id).await,
                )
            }
            Action::RemoveReplica {
                partition,
                leader,
                replica,
            } => {
                let (leader, client) = client_of(leader)?;
                admin(
                    credential,
                    leader,
                    client.remove_replica(partition, replica.id).await,
                )
            }
            Action::Drop { partition, member } => {
                let (member, client) = client_of(member)?;
                admin(credential, member, client.drop_partition(partition).await)
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

/// The outcome of a call to `member`, as the mover records it. A refused credential gets the
/// sentence that says what is wrong and what to do; other errors their own text.
fn admin<T>(
    credential: &Credential,
    member: MemberId,
    result: Result<T, AdminClientError>,
) -> Result<(), (FailureReason, String)> {
    result.map(drop).map_err(|error| match categorize(&error) {
        FailureReason::Unauthorized => (
            FailureReason::Unauthorized,
            credential.rejected_message(&format!("member {member}")),
        ),
        reason => (reason, error.to_string()),
    })
}

fn categorize(error: &AdminClientError) -> FailureReason {
    if is_unauthorized(error) {
        return FailureReason::Unauthorized;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_admin::ErrorBody;

    fn api_error(status: u16, kind: ErrorKind) -> AdminClientError {
        AdminClientError::Api {
            method: "POST",
            path: "/v1/partitions/3/promote".to_owned(),
            address: "10.0.0.1:9090".to_owned(),
            status,
            body: ErrorBody {
                kind,
                message: "no".to_owned(),
                leader: None,
            },
        }
    }

    #[test]
    fn failures_are_fixed_categories() {
        assert_eq!(
            categorize(&api_error(421, ErrorKind::NotLeader)),
            FailureReason::NotLeader
        );
        assert_eq!(
            categorize(&api_error(401, ErrorKind::Unauthorized)),
            FailureReason::Unauthorized
        );
        assert_eq!(FailureReason::Unauthorized.as_str(), "unauthorized");
        assert_eq!(
            categorize(&api_error(409, ErrorKind::Refused)),
            FailureReason::Refused
        );
    }

    #[test]
    fn a_refused_secret_says_what_is_wrong() {
        let credential = Credential {
            secret_name: "demo-cluster-secret".to_owned(),
            ..Credential::default()
        };
        let (reason, message) =
            admin::<()>(&credential, 2, Err(api_error(401, ErrorKind::Unauthorized))).unwrap_err();
        assert_eq!(reason, FailureReason::Unauthorized);
        assert!(message.starts_with("member 2 refused"), "{message}");
        assert!(
            message.contains("does not have the operator's cluster secret"),
            "{message}"
        );
        assert!(
            message.contains("Secret demo-cluster-secret was changed by hand"),
            "{message}"
        );
        assert!(message.contains("operator key"), "{message}");
        // Other errors keep their own text.
        let (reason, message) =
            admin::<()>(&credential, 2, Err(api_error(409, ErrorKind::Refused))).unwrap_err();
        assert_eq!(reason, FailureReason::Refused);
        assert!(message.contains("HTTP 409"), "{message}");
    }
}
