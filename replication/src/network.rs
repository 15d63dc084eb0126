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
use openraft::{BasicNode, ErrorSubject, ErrorVerb, OptionalSend, StorageError};

use crate::codec::{RequestBody, ResponseBody};
use crate::raft_types::{RaftTypes, Snapshot, Vote};
use crate::storage::snapshot_data::SnapshotData;
use crate::transport::{CallError, Lane, Transport};
use crate::{GroupId, RaftNodeId};

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

    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<RaftTypes>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<RaftTypes>, RPCError<RaftTypes>> {
        match self
            .call(RequestBody::AppendEntries(request), &option)
            .await
        {
            Ok(ResponseBody::AppendEntries(response)) => Ok(response),
            Ok(other) => Err(unexpected("append-entries", other)),
            Err(error) => Err(rpc_error(error)),
        }
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
