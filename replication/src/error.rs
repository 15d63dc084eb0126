//! Errors of the public API. Each says whether the operation may have taken effect, because a
//! cache client must tell "retry safely" from "maybe applied".

use crate::{GroupId, RaftNodeId};

/// The leader a caller should retry on: its Raft id and cluster address, when known.
pub type LeaderHint = Option<(RaftNodeId, String)>;

/// Why a proposal did not return a response.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// This host is not the group's leader; the command was **not** appended, so it definitely
    /// did not and will not apply. Retry on `leader`.
    #[error("not the leader of the group (leader: {leader:?})")]
    NotLeader {
        /// The current leader, if this host knows it.
        leader: LeaderHint,
    },
    /// The command was handed to Raft but its fate is unknown: leadership was lost after it was
    /// appended, or commit took longer than the timeout. It may have applied, may apply later,
    /// or may never apply.
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// What happened, for logs.
        reason: String,
    },
    /// This host does not host the group; nothing was proposed.
    #[error("group {0} is not hosted on this member")]
    GroupNotHosted(GroupId),
    /// The host is shutting down; nothing was proposed.
    #[error("the replication host is shutting down")]
    ShuttingDown,
    /// The encoded command is larger than the host's `max_command_len`; nothing was proposed.
    #[error("a write of {size} bytes exceeds the largest replicated write ({limit} bytes)")]
    TooLarge {
        /// The encoded command's size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The command could not be serialized; nothing was proposed.
    #[error("cannot encode the command: {0}")]
    Encode(String),
    /// The command was committed, but the state machine could not decode it (a version mismatch
    /// between members); every replica skipped it the same way.
    #[error("committed, but the state machine could not decode the command: {0}")]
    Undecodable(String),
}

impl ProposeError {
    /// True when the command certainly did not take effect and never will, so retrying cannot
    /// apply it twice.
    pub fn definitely_not_applied(&self) -> bool {
        matches!(
            self,
            ProposeError::NotLeader { .. }
                | ProposeError::GroupNotHosted(_)
                | ProposeError::ShuttingDown
                | ProposeError::TooLarge { .. }
                | ProposeError::Encode(_)
                | ProposeError::Undecodable(_)
        )
    }
}

/// Why a linearizable read could not be confirmed. Reads change nothing, so every case is safe to
/// retry.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// This host is not the leader; read on `leader`.
    #[error("not the leader of the group (leader: {leader:?})")]
    NotLeader {
        /// The current leader, if this host knows it.
        leader: LeaderHint,
    },
    /// The leader could not confirm its leadership with a quorum in time.
    #[error("read not confirmed: {reason}")]
    Unavailable {
        /// What happened, for logs.
        reason: String,
    },
    /// This host does not host the group.
    #[error("group {0} is not hosted on this member")]
    GroupNotHosted(GroupId),
    /// The host is shutting down.
    #[error("the replication host is shutting down")]
    ShuttingDown,
}

/// Why an admin operation (membership change, leadership transfer) failed. Admin operations are
/// idempotent: after any error, re-running the same operation is safe.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Membership changes run on the leader; retry there.
    #[error("not the leader of the group (leader: {leader:?})")]
    NotLeader {
        /// The current leader, if this host knows it.
        leader: LeaderHint,
    },
    /// This host does not host the group.
    #[error("group {0} is not hosted on this member")]
    GroupNotHosted(GroupId),
    /// The host is shutting down.
    #[error("the replication host is shutting down")]
    ShuttingDown,
    /// The step did not finish in time; it may still complete. Re-run it to find out.
    #[error("{operation} did not finish in time")]
    Timeout {
        /// Which step.
        operation: &'static str,
    },
    /// The named node is not a member (voter or learner) of the group.
    #[error("{0} is not a member of the group")]
    UnknownNode(RaftNodeId),
    /// The leader cannot remove itself: transfer leadership away first.
    #[error("{0} is the group's leader: transfer leadership before removing it")]
    RemovingLeader(RaftNodeId),
    /// Raft refused the change (for example a membership change already in progress).
    #[error("raft refused: {0}")]
    Refused(String),
}

/// Why a host or a group could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Reading or writing the data directory failed.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The stored Raft state is unreadable (corrupt, truncated, or from another version).
    #[error("stored raft state: {0}")]
    Storage(String),
    /// openraft refused to start or initialize the group.
    #[error("raft: {0}")]
    Raft(String),
    /// `max_command_len` is above what one cluster frame can carry.
    #[error("the largest replicated write ({requested} bytes) must be at most {limit} bytes")]
    CommandLimit {
        /// The configured `max_command_len`.
        requested: usize,
        /// [`MAX_COMMAND_LEN_LIMIT`](crate::MAX_COMMAND_LEN_LIMIT).
        limit: usize,
    },
    /// The host is shutting down.
    #[error("the replication host is shutting down")]
    ShuttingDown,
}
