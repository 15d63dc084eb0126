//! What a group looks like from one host, for the admin API, `CLUSTER SLOTS` and tests.

use std::collections::BTreeMap;

use crate::RaftNodeId;

/// This host's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts proposals and reads.
    Leader,
    /// A voter following a leader.
    Follower,
    /// A voter asking for votes.
    Candidate,
    /// A non-voting replica catching up (or a voter not yet initialized).
    Learner,
    /// The group is stopping on this host.
    Shutdown,
}

/// A snapshot of one group's state as this host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    /// This host's Raft id in the group.
    pub id: RaftNodeId,
    /// This host's role.
    pub role: Role,
    /// The current term.
    pub term: u64,
    /// The leader this host knows of, with its cluster address.
    pub leader: Option<(RaftNodeId, String)>,
    /// Voters with their cluster addresses (during a joint change: the union of both sets).
    pub voters: BTreeMap<RaftNodeId, String>,
    /// Learners with their cluster addresses.
    pub learners: BTreeMap<RaftNodeId, String>,
    /// True while a membership change is half-way (joint consensus).
    pub joint: bool,
    /// Index of the last entry in this host's log.
    pub last_log_index: Option<u64>,
    /// Highest index known committed.
    pub committed_index: Option<u64>,
    /// Highest index applied to the state machine.
    pub applied_index: Option<u64>,
    /// Index covered by the latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Highest index removed from the log (compacted into a snapshot): a replica missing it
    /// can only catch up from a snapshot.
    pub purged_index: Option<u64>,
    /// On the leader: the highest index each replica is known to hold.
    pub replication: BTreeMap<RaftNodeId, Option<u64>>,
}
