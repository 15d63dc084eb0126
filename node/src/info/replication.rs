//! INFO's `replication` section. A single process is a master without replicas. A cluster member
//! has no single role: each partition is a Raft group, and the member leads some and follows
//! others. It reports `role:master` when it leads at least one partition (it accepts writes
//! for those) and `role:slave` otherwise, with `ringcache_partitions_*` fields saying how many
//! partitions it leads and follows, and `connected_slaves` counting the other members that
//! replicate a partition it leads.

use std::fmt::Write;

use crate::shared::Shared;

pub use crate::stats::Leadership;

/// What the member `shared` belongs to leads and follows, when it is a cluster member (see
/// [`Shared::leadership`], which the cluster sets when it starts).
pub fn leadership(shared: &Shared) -> Option<Leadership> {
    shared.leadership.get().and_then(|source| (source.0)())
}

pub fn write(text: &mut String, shared: &Shared) -> std::fmt::Result {
    let Some(leadership) = leadership(shared) else {
        return write!(
            text,
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\
             master_failover_state:no-failover\r\n"
        );
    };
    write!(
        text,
        "# Replication\r\nrole:{}\r\nconnected_slaves:{}\r\n\
         master_failover_state:no-failover\r\nringcache_partitions_hosted:{}\r\n\
         ringcache_partitions_leading:{}\r\nringcache_partitions_following:{}\r\n\
         ringcache_partitions_electing:{}\r\n",
        if leadership.leading > 0 {
            "master"
        } else {
            "slave"
        },
        leadership.replicas,
        leadership.hosted,
        leadership.leading,
        leadership.following,
        leadership.electing,
    )
}
