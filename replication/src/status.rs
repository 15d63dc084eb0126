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
    /// The index this replica must have applied to count as caught up since its process
    /// started: the first commit index a current leader sent it that covers everything the
    /// group committed (the index of an entry that leader proposed itself), or, on a leader, the
    /// first entry of its own it applied. `None` until then: what a replica's own disk says was
    /// committed tells nothing of what the group committed while the process was down.
    pub catch_up_target: Option<u64>,
    /// Index covered by the latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Highest index removed from the log (compacted into a snapshot): a replica missing it
    /// can only catch up from a snapshot.
    pub purged_index: Option<u64>,
    /// On the leader: the highest index each replica is known to hold.
    pub replication: BTreeMap<RaftNodeId, Option<u64>>,
}

impl GroupStatus {
    /// Whether this replica is a voter of its group, as it sees the group (during a joint change:
    /// a voter of either configuration). A replica not yet added (no voters known), a learner,
    /// and one removed from the group are not.
    pub fn is_voter(&self) -> bool {
        self.voters.contains_key(&self.id)
    }

    /// Whether this replica has caught up since its process started: what `/readyz` needs on
    /// every hosted voter. Once the target is applied it stays caught up (applied indexes only
    /// grow) as long as the group has a leader: a follower a few entries behind under load is
    /// working, not broken.
    pub fn catch_up(&self) -> CatchUp {
        if matches!(self.role, Role::Candidate | Role::Shutdown) || self.leader.is_none() {
            return CatchUp::NoLeader;
        }
        match self.catch_up_target {
            Some(target) if self.applied_index >= Some(target) => CatchUp::CaughtUp,
            Some(target) => CatchUp::Applying {
                applied: self.applied_index,
                target,
            },
            None if self.role == Role::Leader => CatchUp::LeaderFirstEntryNotApplied,
            None => CatchUp::NotHeardFromLeader,
        }
    }
}

/// Where a replica stands in catching up since its process started (see
/// [`GroupStatus::catch_up`]). Displays as the reason a member is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// It has applied everything its group had committed when a leader first reached it.
    CaughtUp,
    /// No leader is known (an election is under way, or no majority of the group is reachable).
    NoLeader,
    /// No current leader has reached it since start-up, so it cannot know what was committed
    /// while it was down.
    NotHeardFromLeader,
    /// Leader, but the entry it appended on election is not applied yet.
    LeaderFirstEntryNotApplied,
    /// Applying the entries up to its target.
    Applying { applied: Option<u64>, target: u64 },
}

impl CatchUp {
    pub fn is_caught_up(&self) -> bool {
        *self == CatchUp::CaughtUp
    }
}

impl std::fmt::Display for CatchUp {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
            CatchUp::Applying { applied, target } => write!(
                formatter,
                "catching up: applied {} of {target}",
                applied.map_or("none".to_owned(), |index| index.to_string())
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
            catch_up_target: Some(40),
            snapshot_index: None,
            purged_index: None,
            replication: BTreeMap::new(),
        }
    }

    #[test]
    fn only_a_replica_listed_among_the_voters_is_a_voter() {
        let mut status = follower();
        assert!(!status.is_voter(), "no voters known: not added yet");
        status
            .voters
            .insert(RaftNodeId::new(1, 1), "leader:16379".to_owned());
        status
            .learners
            .insert(RaftNodeId::new(2, 1), "me:16379".to_owned());
        assert!(!status.is_voter(), "a learner");
        status.learners.clear();
        status
            .voters
            .insert(RaftNodeId::new(2, 1), "me:16379".to_owned());
        assert!(status.is_voter());
    }

    #[test]
    fn a_follower_that_applied_its_target_is_caught_up() {
        assert_eq!(follower().catch_up(), CatchUp::CaughtUp);
    }

    #[test]
    fn a_replica_restarted_from_disk_is_not_caught_up_before_its_leader_reaches_it() {
        let restarted = GroupStatus {
            catch_up_target: None,
            ..follower()
        };
        assert_eq!(restarted.catch_up(), CatchUp::NotHeardFromLeader);
        let learner = GroupStatus {
            role: Role::Learner,
            ..restarted
        };
        assert_eq!(learner.catch_up(), CatchUp::NotHeardFromLeader);
    }

    #[test]
    fn a_follower_short_of_its_target_is_catching_up() {
        let behind = GroupStatus {
            applied_index: Some(12),
            ..follower()
        };
        assert_eq!(
            behind.catch_up(),
            CatchUp::Applying {
                applied: Some(12),
                target: 40
            }
        );
        assert_eq!(
            behind.catch_up().to_string(),
            "catching up: applied 12 of 40"
        );
    }

    #[test]
    fn once_its_target_is_applied_a_follower_under_load_stays_caught_up() {
        let lagging = GroupStatus {
            committed_index: Some(900),
            applied_index: Some(850),
            ..follower()
        };
        assert_eq!(lagging.catch_up(), CatchUp::CaughtUp);
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
    fn a_new_leader_is_caught_up_once_an_entry_it_proposed_is_applied() {
        let elected = GroupStatus {
            role: Role::Leader,
            term: 4,
            leader: Some((RaftNodeId::new(2, 1), "me:16379".to_owned())),
            catch_up_target: None,
            ..follower()
        };
        assert_eq!(elected.catch_up(), CatchUp::LeaderFirstEntryNotApplied);
        let settled = GroupStatus {
            catch_up_target: Some(41),
            last_log_index: Some(41),
            committed_index: Some(41),
            applied_index: Some(41),
            ..elected
        };
        assert_eq!(settled.catch_up(), CatchUp::CaughtUp);
    }
}
