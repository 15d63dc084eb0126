//! Frames on the cluster port: `[u32 big-endian length][bincode body]`, where the body is a
//! [`Frame`]: a request to one group (group id, request id, target node, Raft message) or the
//! response to a request id. All groups share the connection; request ids match answers.

use std::io;

use bincode::Options;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::raft_types::{RaftTypes, SnapshotMeta, Vote};
use crate::{GroupId, RaftNodeId};

/// A frame longer than this is refused: it is either garbage or an attack.
pub(crate) const MAX_FRAME_LEN: usize = 64 << 20;

/// One message on a cluster connection.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Frame {
    /// A Raft message for `group` on the receiving host, meant for Raft node `target`.
    Request {
        request_id: u64,
        group: GroupId,
        /// Checked by the receiver: a message for an older incarnation of the receiving member
        /// must not be answered by the new one.
        target: RaftNodeId,
        body: RequestBody,
    },
    /// The answer to `request_id`.
    Response {
        request_id: u64,
        body: Result<ResponseBody, RemoteFailure>,
    },
}

/// The Raft messages one group sends another.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RequestBody {
    AppendEntries(AppendEntriesRequest<RaftTypes>),
    Vote(VoteRequest<RaftTypes>),
    PreVote(VoteRequest<RaftTypes>),
    /// One piece of a snapshot image (a byte range starting at `offset`; see the layout in
    /// `storage::state_machine_store`); pieces of one snapshot arrive in order on one connection.
    /// Pieces are sized for the transport and need not align with the image's chunks: every
    /// chunk carries its own checksum, checked before the snapshot is installed.
    SnapshotChunk {
        vote: Vote,
        meta: SnapshotMeta,
        offset: u64,
        #[serde(with = "crate::raft_types::bytes")]
        data: Vec<u8>,
        last: bool,
    },
    TransferLeader(TransferLeaderRequest<RaftTypes>),
}

/// Answers to [`RequestBody`]s.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ResponseBody {
    AppendEntries(AppendEntriesResponse<RaftTypes>),
    Vote(VoteResponse<RaftTypes>),
    /// A snapshot piece was buffered; send the next.
    SnapshotChunkReceived,
    /// The last piece arrived and the snapshot was installed.
    SnapshotInstalled(SnapshotResponse<RaftTypes>),
    TransferLeader(TransferLeaderResponse<RaftTypes>),
}

/// Why the receiving host could not hand a request to Raft.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
pub(crate) enum RemoteFailure {
    #[error("group not hosted on the receiving member")]
    GroupNotHosted,
    #[error("the receiving member is now {actual}, not the target")]
    WrongTarget { actual: RaftNodeId },
    #[error("raft on the receiving member: {0}")]
    Raft(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("storage on the receiving member: {0}")]
    Storage(String),
}

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(MAX_FRAME_LEN as u64)
}

/// Encodes a frame with its length prefix.
pub(crate) fn encode(frame: &Frame) -> io::Result<Vec<u8>> {
    let body = options()
        .serialize(frame)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))?;
    if body.len() > MAX_FRAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds {MAX_FRAME_LEN}", body.len()),
        ));
    }
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes one frame body (without its length prefix).
pub(crate) fn decode(body: &[u8]) -> io::Result<Frame> {
    options()
        .deserialize(body)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, format!("bad frame: {error}")))
}

/// Reads the next frame; `Ok(None)` at a clean end of stream. Any malformed input is an
/// `InvalidData` error (the caller drops the connection); nothing panics.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Frame>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame length {length} exceeds {MAX_FRAME_LEN}"),
        ));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    decode(&body).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::vote::RaftLeaderId;

    fn vote_request() -> Frame {
        let leader = openraft::impls::leader_id_adv::LeaderId::new(3, RaftNodeId::new(2, 9));
        Frame::Request {
            request_id: 42,
            group: 7,
            target: RaftNodeId::new(1, 5),
            body: RequestBody::Vote(VoteRequest::new(
                openraft::Vote::new(leader.term, leader.node_id),
                Some(openraft::LogId::new(leader.to_committed(), 10)),
            )),
        }
    }

    #[tokio::test]
    async fn round_trips_through_a_stream() {
        let mut bytes = encode(&vote_request()).expect("encode");
        bytes.extend(
            encode(&Frame::Response {
                request_id: 42,
                body: Err(RemoteFailure::GroupNotHosted),
            })
            .expect("encode"),
        );
        let mut reader = &bytes[..];
        match read_frame(&mut reader).await.expect("read") {
            Some(Frame::Request {
                request_id: 42,
                group: 7,
                target,
                body: RequestBody::Vote(_),
            }) => assert_eq!(target, RaftNodeId::new(1, 5)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            read_frame(&mut reader).await.expect("read"),
            Some(Frame::Response {
                request_id: 42,
                body: Err(RemoteFailure::GroupNotHosted)
            })
        ));
        assert!(read_frame(&mut reader).await.expect("end").is_none());
    }

    #[tokio::test]
    async fn bad_frames_are_errors_not_panics() {
        // A length beyond the limit.
        let mut reader = &[0xff, 0xff, 0xff, 0xff, 0][..];
        assert!(read_frame(&mut reader).await.is_err());
        // A body that is not a frame.
        let mut reader = &[0, 0, 0, 3, 9, 9, 9][..];
        let error = read_frame(&mut reader).await.expect_err("garbage");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        // A frame cut short.
        let bytes = encode(&vote_request()).expect("encode");
        let mut reader = &bytes[..bytes.len() - 2];
        assert!(read_frame(&mut reader).await.is_err());
        // Every truncation and every single-byte corruption of a valid frame: no panic.
        for cut in 0..bytes.len() {
            let mut reader = &bytes[..cut];
            let _ = read_frame(&mut reader).await;
        }
        for position in 4..bytes.len() {
            let mut corrupted = bytes.clone();
            corrupted[position] ^= 0xa5;
            let _ = decode(&corrupted[4..]);
        }
    }
}
