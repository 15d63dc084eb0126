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
    /// True when the entry at `applied_index` was proposed by the current leader (this host's
    /// own leadership, on a leader).
    pub applied_current_leaders_entry: bool,
    /// True once, since this process started, a current leader has sent this replica a commit
    /// index that covers everything the group committed (the index of an entry the leader
    /// itself proposed). Until then `committed_index` may be only what the replica's own disk recorded,
    /// which says nothing of what the group committed while the process was down.
    pub heard_from_leader: bool,
    /// Index covered by the latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Highest index removed from the log (compacted into a snapshot): a replica missing it
    /// can only catch up from a snapshot.
    pub purged_index: Option<u64>,
    /// On the leader: the highest index each replica is known to hold.
    pub replication: BTreeMap<RaftNodeId, Option<u64>>,
}

impl GroupStatus {
    /// Whether this replica has applied everything its group had committed when it last heard
    /// from the group: what `/readyz` needs to hold on every hosted replica.
    pub fn catch_up(&self) -> CatchUp {
        match self.role {
            // A new leader's committed index covers earlier leaderships only once the entry it
            // appended on election is committed; applying that entry applies them all.
            Role::Leader if !self.applied_current_leaders_entry => {
                CatchUp::LeaderFirstEntryNotApplied
            }
            Role::Leader | Role::Follower | Role::Learner => {
                if self.leader.is_none() {
                    CatchUp::NoLeader
                } else if self.role != Role::Leader && !self.heard_from_leader {
                    CatchUp::NotHeardFromLeader
                } else if self.applied_index < self.committed_index {
                    CatchUp::Applying {
                        applied: self.applied_index,
                        committed: self.committed_index,
                    }
                } else {
                    CatchUp::CaughtUp
                }
            }
            Role::Candidate | Role::Shutdown => CatchUp::NoLeader,
        }
    }
}

/// How far a replica is from having applied what its group committed (see
/// [`GroupStatus::catch_up`]). Displays as the reason a member is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Everything the group committed, as far as this replica has heard, is applied.
    CaughtUp,
    /// No leader is known (an election is under way, or no majority of the group is reachable).
    NoLeader,
    /// Restarted from disk and no leader has reached it yet, so it cannot know what was
    /// committed while it was down.
    NotHeardFromLeader,
    /// Leader, but the entry it appended on election is not applied yet.
    LeaderFirstEntryNotApplied,
    /// Entries known committed are still being applied.
    Applying {
        applied: Option<u64>,
        committed: Option<u64>,
    },
}

impl CatchUp {
    pub fn is_caught_up(&self) -> bool {
        *self == CatchUp::CaughtUp
    }
}

impl std::fmt::Display for CatchUp {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let index = |index: Option<u64>| index.map_or("none".to_owned(), |index| index.to_string());
        match self {
            CatchUp::CaughtUp => write!(formatter, "caught up"),
            CatchUp::NoLeader => write!(formatter, "no leader known"),
            CatchUp::NotHeardFromLeader => write!(
                formatter,
                "not yet reached by its leader since start-up, so what was committed meanwhile is unknown"
            ),
            CatchUp::LeaderFirstEntryNotApplied => write!(
                formatter,
                "newly elected leader, its first entry not yet applied"
            ),
            CatchUp::Applying { applied, committed } => write!(
                formatter,
                "applied {} of {} committed",
                index(*applied),
                index(*committed)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower() -> GroupStatus {
        GroupStatus {
            id: RaftNodeId::new(2, 1),
            role: Role::Follower,
            term: 3,
            leader: Some((RaftNodeId::new(1, 1), "leader:16379".to_owned())),
            voters: BTreeMap::new(),
            learners: BTreeMap::new(),
            joint: false,
            last_log_index: Some(40),
            committed_index: Some(40),
            applied_index: Some(40),
            applied_current_leaders_entry: true,
            heard_from_leader: true,
            snapshot_index: None,
            purged_index: None,
            replication: BTreeMap::new(),
        }
    }

    #[test]
    fn a_follower_that_applied_what_its_leader_committed_is_caught_up() {
        assert_eq!(follower().catch_up(), CatchUp::CaughtUp);
    }

    #[test]
    fn a_follower_restarted_from_disk_is_not_caught_up_before_its_leader_reaches_it() {
        let restarted = GroupStatus {
            heard_from_leader: false,
            ..follower()
        };
        assert_eq!(restarted.catch_up(), CatchUp::NotHeardFromLeader);
    }

    #[test]
    fn a_follower_still_applying_is_not_caught_up() {
        let behind = GroupStatus {
            applied_index: Some(12),
            ..follower()
        };
        assert_eq!(
            behind.catch_up(),
            CatchUp::Applying {
                applied: Some(12),
                committed: Some(40)
            }
        );
        assert_eq!(behind.catch_up().to_string(), "applied 12 of 40 committed");
    }

    #[test]
    fn without_a_leader_no_replica_is_caught_up() {
        let candidate = GroupStatus {
            role: Role::Candidate,
            leader: None,
            ..follower()
        };
        assert_eq!(candidate.catch_up(), CatchUp::NoLeader);
        let orphan = GroupStatus {
            leader: None,
            ..follower()
        };
        assert_eq!(orphan.catch_up(), CatchUp::NoLeader);
    }

    #[test]
    fn a_leader_is_caught_up_once_an_entry_it_proposed_is_applied() {
        let elected = GroupStatus {
            role: Role::Leader,
            term: 4,
            leader: Some((RaftNodeId::new(2, 1), "me:16379".to_owned())),
            heard_from_leader: false,
            applied_current_leaders_entry: false,
            ..follower()
        };
        assert_eq!(elected.catch_up(), CatchUp::LeaderFirstEntryNotApplied);
        let settled = GroupStatus {
            applied_current_leaders_entry: true,
            last_log_index: Some(41),
            committed_index: Some(41),
            applied_index: Some(41),
            ..elected
        };
        assert_eq!(settled.catch_up(), CatchUp::CaughtUp);
    }
}
