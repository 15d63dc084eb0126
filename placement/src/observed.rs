//! The observed placement: what the members report about the cluster's Raft groups, reduced to what
//! the mover decides on. The operator assembles it from every member's `GET /v1/status`; the mover
//! ([`crate::mover`]) plans from it, never from anything remembered, so a restarted operator, a
//! second one, or a change made by hand all converge the same way.

use std::collections::{BTreeMap, BTreeSet};

use crate::partition::PartitionId;
use crate::placement::MemberId;

/// A replica as a group's configuration names it: its Raft id and the ordinal encoded in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObservedReplica {
    /// Raft id (`ordinal << 48 | incarnation`).
    pub id: u64,
    /// The member (StatefulSet ordinal) the id belongs to.
    pub member: MemberId,
    /// True when no live member has this id any more: the member answered with another id (its
    /// data dir started empty) or its ordinal is outside the StatefulSet. A stale replica holds
    /// nothing and votes never again; it only weighs on the group's quorum until removed.
    pub stale: bool,
}

/// One partition's Raft group, as its leader (or, without one, its most recent member) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedGroup {
    /// Voting replicas (during a joint change: both sets).
    pub voters: Vec<ObservedReplica>,
    /// Non-voting replicas catching up.
    pub learners: Vec<ObservedReplica>,
    /// The leader's member, when a leader is known.
    pub leader: Option<MemberId>,
    /// A membership change is half-way: nothing else may start until it ends.
    pub joint: bool,
    /// The leader's commit index.
    pub committed_index: Option<u64>,
    /// On the leader: the highest index each other replica is known to hold, by Raft id.
    pub matched: BTreeMap<u64, Option<u64>>,
}

impl ObservedGroup {
    /// Whether `member` is a (non-stale) voter.
    pub fn has_voter(&self, member: MemberId) -> bool {
        self.voters
            .iter()
            .any(|replica| replica.member == member && !replica.stale)
    }

    /// Whether `member` is a (non-stale) learner.
    pub fn has_learner(&self, member: MemberId) -> bool {
        self.learners
            .iter()
            .any(|replica| replica.member == member && !replica.stale)
    }

    /// Entries a replica trails the leader's commit index by (`None`: unknown).
    pub fn lag_of(&self, id: u64) -> Option<u64> {
        let committed = self.committed_index.unwrap_or(0);
        let matched = (*self.matched.get(&id)?).unwrap_or(0);
        Some(committed.saturating_sub(matched))
    }
}

/// One member that answered its status call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedMember {
    /// Its current Raft id.
    pub id: u64,
    /// Whether it joined the cluster (a fresh pod has not).
    pub joined: bool,
    /// Partitions it hosts locally (in a group or not: a removed replica stays hosted until dropped).
    pub hosted: BTreeSet<PartitionId>,
    /// Keys it holds per hosted partition (progress of a copy).
    pub keys: BTreeMap<PartitionId, u64>,
    /// Estimated bytes it holds per hosted partition.
    pub bytes: BTreeMap<PartitionId, u64>,
    /// Estimated bytes of everything it holds.
    pub used_memory: u64,
    /// The `maxmemory` it runs with (0: no limit).
    pub max_memory: u64,
}

/// The whole observed cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedCluster {
    /// Members that answered, by ordinal. A member missing here may be down, starting, or stopped.
    pub members: BTreeMap<MemberId, ObservedMember>,
    /// Groups by partition; a partition missing here was reported by no member.
    pub groups: BTreeMap<PartitionId, ObservedGroup>,
    /// Members that should have answered (their pods exist) and did not: until they do, copies
    /// they may still hold are unknown, so the placement is never called done.
    pub silent: BTreeSet<MemberId>,
}

impl ObservedCluster {
    /// Whether `member` answered.
    pub fn answers(&self, member: MemberId) -> bool {
        self.members.contains_key(&member)
    }

    /// Whether `member` hosts `partition` locally.
    pub fn hosts(&self, member: MemberId, partition: PartitionId) -> bool {
        self.members
            .get(&member)
            .is_some_and(|observed| observed.hosted.contains(&partition))
    }

    /// A partition's size in estimated bytes: the largest any member reports for its copy (`None`:
    /// no member hosts it).
    pub fn partition_bytes(&self, partition: PartitionId) -> Option<u64> {
        self.members
            .values()
            .filter_map(|member| member.bytes.get(&partition).copied())
            .max()
    }

    /// Partitions each member leads.
    pub fn leader_counts(&self) -> BTreeMap<MemberId, u32> {
        let mut counts = BTreeMap::new();
        for group in self.groups.values() {
            if let Some(leader) = group.leader {
                *counts.entry(leader).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Whether any group still names `member`, or `member` still hosts anything: a member the
    /// StatefulSet may not remove yet.
    pub fn holds_anything(&self, member: MemberId) -> bool {
        self.groups.values().any(|group| {
            group
                .voters
                .iter()
                .chain(&group.learners)
                .any(|replica| replica.member == member)
        }) || self
            .members
            .get(&member)
            .is_some_and(|observed| !observed.hosted.is_empty())
    }
}
