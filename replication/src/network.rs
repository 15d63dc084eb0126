//! openraft's view of the transport: one `GroupNetwork` per (group, peer), all sharing the
//! host's [`Transport`] connections.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::io::Read;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, StorageError};

use crate::codec::{RequestBody, ResponseBody};
use crate::raft_types::{RaftTypes, Snapshot, Vote};
use crate::storage::snapshot_data::SnapshotData;
use crate::transport::{CallError, Lane, Transport};
use crate::{GroupId, RaftNodeId};

/// The entries of one append request are sent in frames of at most about this many bytes (at
/// least one entry each): openraft batches by entry count only, and a follower catching up on
/// large values would otherwise be sent one frame over the frame limit, again and again.
const APPEND_BATCH_BYTES: usize = 8 << 20;
/// Extra time an append frame gets per byte it carries, as a rate: a large frame must not time
/// out for being large (openraft's own budget is sized for heartbeats).
const APPEND_BYTES_PER_SECOND: u64 = 16 << 20;

/// Snapshots are sent in pieces of this size, read from the image one at a time, so that other
/// groups' messages interleave and only one piece is in memory.
const SNAPSHOT_PIECE: usize = 1 << 20;

/// Makes per-peer clients for one group.
pub(crate) struct GroupNetworkFactory {
    pub(crate) group: GroupId,
    pub(crate) transport: Arc<Transport>,
}

impl RaftNetworkFactory<RaftTypes> for GroupNetworkFactory {
    type Network = GroupNetwork;

    async fn new_client(&mut self, target: RaftNodeId, node: &BasicNode) -> GroupNetwork {
        GroupNetwork {
            group: self.group,
            target,
            address: node.addr.clone(),
            transport: Arc::clone(&self.transport),
            lane: Lane::Immediate,
        }
    }

    /// Heartbeats (and the leader's lease probes, which openraft sends the same way) may wait
    /// one scheduler turn for the other groups' heartbeats to the same peer.
    async fn new_heartbeat_client(&mut self, target: RaftNodeId, node: &BasicNode) -> GroupNetwork {
        GroupNetwork {
            lane: Lane::Batched,
            ..self.new_client(target, node).await
        }
    }
}

/// The client of one group to one peer.
pub(crate) struct GroupNetwork {
    group: GroupId,
    target: RaftNodeId,
    address: String,
    transport: Arc<Transport>,
    lane: Lane,
}

impl GroupNetwork {
    async fn call(&self, body: RequestBody, option: &RPCOption) -> Result<ResponseBody, CallError> {
        let timeout = option.hard_ttl().max(Duration::from_millis(100));
        self.transport
            .call(
                &self.address,
                self.group,
                self.target,
                body,
                Some(timeout),
                self.lane,
            )
            .await
    }
}

/// Roughly the bytes an entry takes in a frame.
fn entry_weight(entry: &crate::raft_types::Entry) -> usize {
    const OVERHEAD: usize = 64;
    match &entry.payload {
        EntryPayload::Normal(command) => OVERHEAD + command.0.len(),
        EntryPayload::Membership(membership) => OVERHEAD + 64 * membership.nodes().count(),
        EntryPayload::Blank => OVERHEAD,
    }
}

/// Splits an append request into consecutive requests of at most `budget` bytes of entries each
/// (a larger entry goes alone). A request with no entries (a heartbeat) stays one request.
fn split_by_bytes(
    request: AppendEntriesRequest<RaftTypes>,
    budget: usize,
) -> Vec<AppendEntriesRequest<RaftTypes>> {
    let AppendEntriesRequest {
        vote,
        mut prev_log_id,
        entries,
        leader_commit,
    } = request;
    let mut batches: Vec<Vec<crate::raft_types::Entry>> = vec![Vec::new()];
    let mut batch_bytes = 0;
    for entry in entries {
        let weight = entry_weight(&entry);
        let batch = batches.last_mut().expect("at least one batch");
        if !batch.is_empty() && batch_bytes + weight > budget {
            batches.push(Vec::new());
            batch_bytes = 0;
        }
        batch_bytes += weight;
        batches.last_mut().expect("at least one batch").push(entry);
    }
    batches
        .into_iter()
        .map(|entries| {
            let part_prev = prev_log_id;
            if let Some(last) = entries.last() {
                prev_log_id = Some(last.log_id);
            }
            AppendEntriesRequest {
                vote,
                prev_log_id: part_prev,
                entries,
                leader_commit,
            }
        })
        .collect()
}

fn rpc_error(error: CallError) -> RPCError<RaftTypes> {
    match error {
        CallError::Unreachable(reason) => RPCError::Unreachable(Unreachable::from_string(reason)),
        CallError::Network(reason) => RPCError::Network(NetworkError::from_string(reason)),
    }
}

fn unexpected(what: &str, got: ResponseBody) -> RPCError<RaftTypes> {
    RPCError::Network(NetworkError::from_string(format!(
        "expected {what} response, got {got:?}"
    )))
}

impl RaftNetworkV2<RaftTypes> for GroupNetwork {
    type SnapshotData = SnapshotData;

    /// Sends the entries in frames of at most [`APPEND_BATCH_BYTES`], each a valid append
    /// request following the previous one. When a later frame fails, the ones before it still
    /// count: the answer is a partial success up to the last entry the follower accepted.
    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<RaftTypes>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<RaftTypes>, RPCError<RaftTypes>> {
        let mut accepted_through = None;
        for part in split_by_bytes(request, APPEND_BATCH_BYTES) {
            let bytes: usize = part.entries.iter().map(entry_weight).sum();
            let last = part.entries.last().map(|entry| entry.log_id);
            let extra = Duration::from_millis(bytes as u64 * 1000 / APPEND_BYTES_PER_SECOND);
            let option = RPCOption::new(option.hard_ttl() + extra);
            let answer = match self.call(RequestBody::AppendEntries(part), &option).await {
                Ok(ResponseBody::AppendEntries(response)) => Ok(response),
                Ok(other) => Err(unexpected("append-entries", other)),
                Err(error) => Err(rpc_error(error)),
            };
            match (answer, accepted_through) {
                (Ok(AppendEntriesResponse::Success), _) => accepted_through = Some(last),
                (Ok(AppendEntriesResponse::PartialSuccess(matched)), _) => {
                    return Ok(AppendEntriesResponse::PartialSuccess(matched));
                }
                // A deposed leader learns it at once, whatever the earlier pieces did.
                (Ok(higher @ AppendEntriesResponse::HigherVote(_)), _) => return Ok(higher),
                (other, None) => return other,
                (_, Some(matched)) => return Ok(AppendEntriesResponse::PartialSuccess(matched)),
            }
        }
        Ok(AppendEntriesResponse::Success)
    }

    async fn vote(
        &mut self,
        request: VoteRequest<RaftTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<RaftTypes>, RPCError<RaftTypes>> {
        match self.call(RequestBody::Vote(request), &option).await {
            Ok(ResponseBody::Vote(response)) => Ok(response),
            Ok(other) => Err(unexpected("vote", other)),
            Err(error) => Err(rpc_error(error)),
        }
    }

    async fn pre_vote(
        &mut self,
        request: VoteRequest<RaftTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<RaftTypes>, RPCError<RaftTypes>> {
        match self.call(RequestBody::PreVote(request), &option).await {
            Ok(ResponseBody::Vote(response)) => Ok(response),
            Ok(other) => Err(unexpected("pre-vote", other)),
            Err(error) => Err(rpc_error(error)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        mut snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<RaftTypes>, StreamingError<RaftTypes>> {
        let meta = snapshot.meta.clone();
        let unreadable = |error: std::io::Error| {
            StreamingError::StorageError(StorageError::from_io_error(
                ErrorSubject::Snapshot(Some(meta.signature())),
                ErrorVerb::Read,
                error,
            ))
        };
        let send_all = async {
            let total = snapshot.snapshot.len().map_err(unreadable)?;
            let mut image = snapshot.snapshot.bytes().map_err(unreadable)?;
            let mut offset = 0u64;
            loop {
                let length = (total - offset).min(SNAPSHOT_PIECE as u64) as usize;
                let mut data = vec![0u8; length];
                image.read_exact(&mut data).map_err(unreadable)?;
                let last = offset + length as u64 == total;
                let body = RequestBody::SnapshotChunk {
                    vote,
                    meta: meta.clone(),
                    offset,
                    data,
                    last,
                };
                match self.call(body, &option).await {
                    Ok(ResponseBody::SnapshotChunkReceived) if !last => offset += length as u64,
                    Ok(ResponseBody::SnapshotInstalled(response)) if last => return Ok(response),
                    Ok(other) => {
                        return Err(StreamingError::Network(NetworkError::from_string(format!(
                            "unexpected snapshot response {other:?}"
                        ))));
                    }
                    Err(CallError::Unreachable(reason)) => {
                        return Err(StreamingError::Unreachable(Unreachable::from_string(
                            reason,
                        )));
                    }
                    Err(CallError::Network(reason)) => {
                        return Err(StreamingError::Network(NetworkError::from_string(reason)));
                    }
                }
            }
        };
        tokio::select! {
            result = send_all => result,
            closed = cancel => Err(StreamingError::Closed(closed)),
        }
    }

    async fn transfer_leader(
        &mut self,
        request: TransferLeaderRequest<RaftTypes>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<RaftTypes>, RPCError<RaftTypes>> {
        match self
            .call(RequestBody::TransferLeader(request), &option)
            .await
        {
            Ok(ResponseBody::TransferLeader(response)) => Ok(response),
            Ok(other) => Err(unexpected("transfer-leader", other)),
            Err(error) => Err(rpc_error(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use openraft::RaftTypeConfig;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderId;

    use super::*;
    use crate::raft_types::{CommandBytes, Entry, LogId};

    fn log_id(index: u64) -> LogId {
        let leader = <RaftTypes as RaftTypeConfig>::LeaderId::new(2, RaftNodeId::new(1, 1));
        openraft::LogId::new(leader.to_committed(), index)
    }

    fn request(sizes: &[usize]) -> AppendEntriesRequest<RaftTypes> {
        AppendEntriesRequest {
            vote: Vote::new(2, RaftNodeId::new(1, 1)),
            prev_log_id: Some(log_id(10)),
            entries: sizes
                .iter()
                .enumerate()
                .map(|(offset, &size)| {
                    Entry::new_normal(log_id(11 + offset as u64), CommandBytes(vec![0; size]))
                })
                .collect(),
            leader_commit: Some(log_id(9)),
        }
    }

    fn indexes(parts: &[AppendEntriesRequest<RaftTypes>]) -> Vec<(u64, Vec<u64>)> {
        parts
            .iter()
            .map(|part| {
                (
                    part.prev_log_id.as_ref().expect("prev").index,
                    part.entries
                        .iter()
                        .map(|entry| entry.log_id.index)
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn appends_are_split_by_bytes_into_consecutive_requests() {
        let parts = split_by_bytes(request(&[400, 400, 400, 2000, 10, 10]), 1000);
        assert_eq!(
            indexes(&parts),
            vec![
                (10, vec![11, 12]),
                // An entry over the budget goes alone, never dropped or cut.
                (12, vec![13]),
                (13, vec![14]),
                (14, vec![15, 16]),
            ]
        );
        for part in &parts {
            assert_eq!(part.leader_commit, Some(log_id(9)));
        }
    }

    #[test]
    fn small_appends_and_heartbeats_stay_one_request() {
        assert_eq!(
            indexes(&split_by_bytes(request(&[10, 10, 10]), 1000)),
            vec![(10, vec![11, 12, 13])]
        );
        assert_eq!(
            indexes(&split_by_bytes(request(&[]), 1000)),
            vec![(10, vec![])]
        );
    }
}
