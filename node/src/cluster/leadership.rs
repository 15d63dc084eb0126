//! What this member leads and follows, for INFO's replication section and /metrics.

use std::collections::BTreeSet;

use ringcache_admin::Role;

use super::Cluster;
use crate::stats::Leadership;

pub fn of(cluster: &Cluster) -> Leadership {
    let mut leadership = Leadership::default();
    let mut replicas = BTreeSet::new();
    let me = cluster.member().ordinal;
    for partition in cluster.host().hosted_groups() {
        let Some(status) = cluster.partition_status(partition) else {
            continue;
        };
        leadership.hosted += 1;
        match status.role {
            Role::Leader => {
                leadership.leading += 1;
                replicas.extend(
                    status
                        .voters
                        .iter()
                        .chain(&status.learners)
                        .map(|replica| replica.ordinal)
                        .filter(|ordinal| *ordinal != me),
                );
            }
            Role::Follower | Role::Learner => leadership.following += 1,
            Role::Candidate => leadership.electing += 1,
            Role::Shutdown => {}
        }
    }
    leadership.replicas = replicas.len() as u64;
    leadership
}
