//! ringcache's replication core: one Raft group per partition, many groups per process, all behind
//! ringcache's own types (openraft `=0.10.0-alpha.37` is an implementation detail of this crate).
//!
//! The node builds one [`ReplicationHost`] on its cluster port, hosts the partitions placed on it
//! ([`ReplicationHost::host_group`]), and implements [`StateMachine`] for its keyspace.
//!
//! Write path (on the partition's leader):
//!
//! ```text
//!  propose(group, command)
//!     │ bincode
//!     ▼
//!  openraft leader ──append──► log file (groups/<id>/log, fsync optional)
//!     │  AppendEntries over the shared connection to each follower (same log there)
//!     ▼
//!  quorum holds it ─► committed ─► StateMachine::apply on every replica, in log order
//!     │
//!     ▼
//!  response to the proposer.  Leader lost after append, or timeout: OutcomeUnknown.
//! ```
//!
//! Transport (one TCP connection per peer process, for all groups):
//!
//! ```text
//!  host A                                       host B (cluster port)
//!  group 1 ─┐  [len][bincode Frame{group, request id, target, RPC}]   ┌─► group 1
//!  group 2 ─┼═════════════════════════════════════════════════════════╪─► group 2
//!  group 7 ─┘  ◄══ [len][Frame::Response{request id, result}] ════════ └─► group 7
//! ```
//!
//! Reads: [`ReplicationHost::linearizable_read`] (ReadIndex by default, leader lease optional),
//! then [`ReplicationHost::read_local`]. Identity: [`RaftNodeId`] changes when the data directory
//! starts empty. Admin operations (learner, promote, transfer, remove) are idempotent.
mod checksum;
mod codec;
mod config;
mod error;
pub mod handshake;
mod host;
mod idle_poll;
mod membership;
mod network;
mod node_id;
mod raft_types;
mod state_machine;
mod status;
mod storage;
mod tls;
mod transport;

pub use config::{
    DEFAULT_MAX_COMMAND_LEN, Durability, MAX_COMMAND_LEN_LIMIT, ReadPolicy, ReplicationConfig,
};
pub use error::{AdminError, LeaderHint, ProposeError, ReadError, StartError};
pub use handshake::{ClusterSecret, Rejection};
pub use host::{LeaderView, ReplicationHost};
pub use idle_poll::{note_activity, start_idle_polling};
pub use node_id::{IDENTITY_FILE, RaftNodeId};
pub use state_machine::{RestoreError, SNAPSHOT_CHUNK_TARGET, SnapshotError, StateMachine};
pub use status::{CatchUp, GroupStatus, Role};
pub use tls::{ClusterTls, server_name as tls_server_name};
pub use transport::{WireCounters, cluster_port_address, connect_from};

/// Entry points for the fuzz targets in `fuzz/` (not an API).
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes `body` as a cluster-port frame body. Garbage must be an error, never a panic;
    /// a frame that decodes must encode back to bytes that decode to the same encoding.
    pub fn frame_round_trip(body: &[u8]) {
        let Ok(frame) = crate::codec::decode(body) else {
            return;
        };
        let Ok(encoded) = crate::codec::encode(&frame) else {
            return;
        };
        let again = crate::codec::decode(&encoded[4..]).expect("an encoded frame decodes");
        let reencoded = crate::codec::encode(&again).expect("a decoded frame encodes");
        assert_eq!(encoded, reencoded, "decode and encode disagree");
    }
}

/// Frames for tests that play an outsider on the cluster port (not an API).
#[doc(hidden)]
pub mod testing {
    use crate::codec::{Frame, RequestBody};
    use crate::raft_types::Vote;

    /// A well-formed AppendEntries from a made-up leader `leader` of `term` to `target` in
    /// `group`: a member that accepts it takes the higher term and follows that leader.
    pub fn forged_append_entries(
        group: crate::GroupId,
        target: crate::RaftNodeId,
        leader: crate::RaftNodeId,
        term: u64,
    ) -> Vec<u8> {
        let frame = Frame::Request {
            request_id: 1,
            group,
            target,
            body: RequestBody::AppendEntries(openraft::raft::AppendEntriesRequest {
                vote: Vote::new_committed(term, leader),
                prev_log_id: None,
                entries: Vec::new(),
                leader_commit: None,
            }),
        };
        crate::codec::encode(&frame).expect("a small frame encodes")
    }
}

/// A Raft group: one partition.
pub type GroupId = u32;
