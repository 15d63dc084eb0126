//! [`Leadership`]: a cluster member's share of the partitions, for INFO and /metrics.

/// What this member leads and follows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leadership {
    pub hosted: u64,
    pub leading: u64,
    /// Followers and learners (learners are caught up before they vote).
    pub following: u64,
    /// Partitions electing a leader, where this member is a candidate.
    pub electing: u64,
    /// Other members replicating at least one partition led here.
    pub replicas: u64,
}
