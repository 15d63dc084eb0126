//! [`RouteTable`]: what this member knows of partitions it does not host, learned by asking the
//! other members (over their Redis port, `CLUSTER RINGCACHE-ROUTES`) once a second. The members
//! asked are [`Cluster::known_members`]: the replicas of the groups hosted here, those other
//! members reported, and the seed peers of the last join, which are all a member hosting nothing
//! starts from. Partitions hosted here are always routed from their own Raft state instead.

use std::collections::{BTreeSet, HashMap};
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::RwLock;
use ringcache_admin::{PartitionStatus, Replica, Role};

use super::Cluster;
use super::forward::Forwarder;
use crate::protocol::Protocol;
use crate::security::PeerAccess;

/// How often peers are asked.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Partition views reported by other members.
#[derive(Debug, Default)]
pub struct RouteTable {
    partitions: RwLock<HashMap<u32, PartitionStatus>>,
}

impl RouteTable {
    /// The leader another member reported for `partition`.
    pub fn leader_of(&self, partition: u32) -> Option<Replica> {
        self.partitions
            .read()
            .get(&partition)
            .and_then(|status| status.leader.clone())
    }

    pub fn get(&self, partition: u32) -> Option<PartitionStatus> {
        self.partitions.read().get(&partition).cloned()
    }

    /// Every replica seen in any report.
    pub fn members(&self) -> BTreeSet<Replica> {
        self.partitions
            .read()
            .values()
            .flat_map(|status| status.voters.iter().chain(&status.learners).cloned())
            .collect()
    }

    /// Merges reports: a newer term wins, and at equal terms the leader's own report wins.
    pub fn merge(&self, reports: Vec<PartitionStatus>) {
        let mut partitions = self.partitions.write();
        for report in reports {
            let replace = match partitions.get(&report.partition) {
                None => true,
                Some(known) => {
                    (report.term, report.role == Role::Leader)
                        >= (known.term, known.role == Role::Leader)
                }
            };
            if replace {
                partitions.insert(report.partition, report);
            }
        }
    }
}

/// Asks every known member (seed peers included) for its partitions, once a second, until the
/// cluster is gone.
pub async fn refresh(cluster: Weak<Cluster>) {
    let mut forwarder = Forwarder::default();
    let mut interval = tokio::time::interval(REFRESH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        if cluster.settings().is_none() {
            continue;
        }
        let me = cluster.member().id;
        let peers: Vec<Replica> = cluster
            .known_members()
            .into_iter()
            .filter(|member| member.id != me)
            .collect();
        // Read each round: a rotated password takes effect without a restart.
        let access = cluster.peer_access();
        for peer in peers {
            ask(&cluster, &mut forwarder, &peer, &access).await;
        }
    }
}

/// Asks one member for its partitions now and merges what it reports; false when it did not
/// answer with routes.
pub async fn ask(
    cluster: &Cluster,
    forwarder: &mut Forwarder,
    peer: &Replica,
    access: &PeerAccess,
) -> bool {
    let request = [
        Bytes::from_static(b"CLUSTER"),
        Bytes::from_static(b"RINGCACHE-ROUTES"),
    ];
    let reply = forwarder
        .forward(
            peer.client_address(),
            cluster.host().source_address(),
            Protocol::Resp2,
            access,
            &request,
            None,
        )
        .await;
    match reply.map(|reply| parse_routes(&reply)) {
        Ok(Some(reports)) => {
            cluster.routes.merge(reports);
            true
        }
        Ok(None) => {
            tracing::debug!(peer = %peer.address, "peer sent no routes");
            false
        }
        Err(error) => {
            tracing::debug!(%error, "cannot ask a peer for routes");
            false
        }
    }
}

/// A bulk-string reply holding the JSON list of partition statuses.
fn parse_routes(reply: &[u8]) -> Option<Vec<PartitionStatus>> {
    let rest = reply.strip_prefix(b"$")?;
    let header_end = rest.windows(2).position(|window| window == b"\r\n")?;
    let body = rest.get(header_end + 2..rest.len().checked_sub(2)?)?;
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(partition: u32, term: u64, role: Role, leader_id: u64) -> PartitionStatus {
        let leader = Replica {
            id: leader_id,
            ordinal: leader_id as u16,
            address: format!("h{leader_id}:6379@16379"),
        };
        PartitionStatus {
            partition,
            slots: [0, 255],
            role,
            term,
            leader: Some(leader.clone()),
            voters: vec![leader],
            learners: vec![],
            joint: false,
            last_log_index: None,
            committed_index: None,
            applied_index: None,
            snapshot_index: None,
            keys: 0,
            used_memory: 0,
            replication: vec![],
        }
    }

    #[test]
    fn newer_terms_and_leader_reports_win() {
        let table = RouteTable::default();
        table.merge(vec![status(1, 3, Role::Follower, 7)]);
        assert_eq!(table.leader_of(1).unwrap().id, 7);
        table.merge(vec![status(1, 2, Role::Leader, 8)]);
        assert_eq!(
            table.leader_of(1).unwrap().id,
            7,
            "an older term never wins"
        );
        table.merge(vec![status(1, 3, Role::Leader, 9)]);
        assert_eq!(
            table.leader_of(1).unwrap().id,
            9,
            "the leader's own report wins a tie"
        );
        assert_eq!(table.leader_of(2), None);
    }

    #[test]
    fn routes_reply_parses() {
        let json = serde_json::to_vec(&vec![status(4, 1, Role::Leader, 1)]).unwrap();
        let mut reply = format!("${}\r\n", json.len()).into_bytes();
        reply.extend_from_slice(&json);
        reply.extend_from_slice(b"\r\n");
        assert_eq!(parse_routes(&reply).unwrap()[0].partition, 4);
        assert!(parse_routes(b"-ERR nope\r\n").is_none());
    }
}
