//! Requests from peers' groups arriving on the cluster port (Raft RPCs and snapshots).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use openraft::raft::AppendEntriesResponse;

use super::{HostInner, group_directory};
use crate::codec::{RemoteFailure, RequestBody, ResponseBody};
use crate::storage::snapshot_sink::SnapshotSink;
use crate::storage::state_machine_store::check_image;
use crate::transport::{Incoming, RequestHandler};
use crate::{Durability, GroupId, RaftNodeId, StateMachine};

impl<S: StateMachine> RequestHandler for HostInner<S> {
    fn handle(
        &self,
        group: GroupId,
        target: RaftNodeId,
        request: Incoming,
    ) -> Pin<Box<dyn Future<Output = Result<ResponseBody, RemoteFailure>> + Send + '_>> {
        Box::pin(async move {
            if target != self.id {
                return Err(RemoteFailure::WrongTarget { actual: self.id });
            }
            let hosted = self
                .groups
                .read()
                .get(&group)
                .cloned()
                .ok_or(RemoteFailure::GroupNotHosted)?;
            let raft = &hosted.raft;
            let failed = |error: &dyn std::fmt::Display| RemoteFailure::Raft(error.to_string());
            match request {
                Incoming::Rpc(RequestBody::AppendEntries(request)) => {
                    // A leader's commit index covers everything the group ever committed only
                    // once it has committed an entry of its own leadership (a new leader may
                    // first send the older index it found on its disk).
                    let complete_commit = request
                        .leader_commit
                        .as_ref()
                        .filter(|log_id| log_id.leader_id == request.vote.leader_id)
                        .map(|log_id| log_id.index);
                    let response = raft
                        .append_entries(request)
                        .await
                        .map_err(|error| failed(&error))?;
                    // Any answer but "your vote is stale" means a current leader reached us
                    // (even when the logs do not match yet, openraft took its commit index).
                    if let Some(commit) = complete_commit
                        && !matches!(response, AppendEntriesResponse::HigherVote(_))
                    {
                        // Only the first counts: see `GroupStatus::catch_up_target`.
                        let _ = hosted.catch_up_target.set(commit);
                    }
                    Ok(ResponseBody::AppendEntries(response))
                }
                Incoming::Rpc(RequestBody::Vote(_) | RequestBody::PreVote(_))
                    if let Some(left) = self.votes_withheld() =>
                {
                    Err(RemoteFailure::Raft(format!(
                        "restarted moments ago: not voting for another {left:?}, so that no \
                         leader's lease on this member's earlier acknowledgement is broken"
                    )))
                }
                Incoming::Rpc(RequestBody::Vote(request)) => raft
                    .vote(request)
                    .await
                    .map(ResponseBody::Vote)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::PreVote(request)) => raft
                    .pre_vote(request)
                    .await
                    .map(ResponseBody::Vote)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::TransferLeader(request)) => raft
                    .handle_transfer_leader(request)
                    .await
                    .map(ResponseBody::TransferLeader)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::SnapshotChunk { .. }) => Err(RemoteFailure::BadRequest(
                    "snapshot pieces are reassembled by the connection".to_owned(),
                )),
                Incoming::FullSnapshot { vote, mut snapshot } => {
                    // Checked before openraft sees it: a snapshot damaged on its way is refused
                    // back to the leader, which sends it again, whereas an install error would
                    // stop this replica's group as a storage failure.
                    let machine = Arc::clone(&hosted.machine);
                    let checked = tokio::task::spawn_blocking(move || {
                        check_image(&machine, &mut snapshot.snapshot, Some(&snapshot.meta))
                            .map(|_| snapshot)
                    })
                    .await;
                    let snapshot = match checked {
                        Ok(Ok(snapshot)) => snapshot,
                        Ok(Err(error)) => {
                            return Err(RemoteFailure::BadRequest(format!(
                                "the snapshot received is damaged: {error}"
                            )));
                        }
                        Err(error) => {
                            return Err(RemoteFailure::Storage(format!(
                                "checking a received snapshot failed: {error}"
                            )));
                        }
                    };
                    raft.install_full_snapshot(vote, snapshot)
                        .await
                        .map(ResponseBody::SnapshotInstalled)
                        .map_err(|error| failed(&error))
                }
            }
        })
    }

    fn snapshot_sink(&self, group: GroupId) -> Result<SnapshotSink, RemoteFailure> {
        if !self.groups.read().contains_key(&group) {
            return Err(RemoteFailure::GroupNotHosted);
        }
        match &self.config.durability {
            Durability::InMemory => Ok(SnapshotSink::in_memory()),
            Durability::Directory { path, .. } => SnapshotSink::temporary_file(
                &group_directory(path, group),
                "receiving",
            )
            .map_err(|error| {
                RemoteFailure::Storage(format!("cannot store a snapshot being received: {error}"))
            }),
        }
    }
}
