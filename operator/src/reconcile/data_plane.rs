//! Observing the data plane: every member's `GET /v1/status`, read in parallel with a short timeout
//! ([`DataPlane::read`], the IO), then reduced to the observed placement the mover plans from
//! ([`DataPlane::placement`], pure). What a member does not answer is simply absent: the mover waits
//! for it rather than guessing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use ringcache_admin::{
    AdminClient, AdminClientError, ErrorKind, MemberStatus, PartitionStatus, Replica, Role,
};
use ringcache_placement::{
    MemberId, ObservedCluster, ObservedGroup, ObservedMember, ObservedReplica,
};

use super::observe::Observed;
use crate::build::{ADMIN_PORT, ClusterIdentity};
use crate::key::{ClusterSecret, OperatorKey};

/// Timeout of one status call: a member slower than this counts as not answering this round.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// How the operator authenticates to one cluster's members: the cluster secret, derived once per
/// reconcile and sent as `Authorization: Bearer …` with every admin call (the members require it on
/// every route but the probes, `/metrics` and the pre-stop hook).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credential {
    /// The cluster secret (redacted in `Debug`).
    pub secret: ClusterSecret,
    /// The Secret object that carries it to the members, named when a member refuses it.
    pub secret_name: String,
    /// Whether the members' admin ports speak TLS (`spec.tls`). The operator holds no CA (it
    /// never reads the TLS Secret), so it binds the secret to each TLS session and requires the
    /// member's proof of the secret on every answer instead of verifying the certificate.
    pub tls: bool,
}

impl Credential {
    /// The credential of the cluster `identity` names; `tls`: its admin ports speak TLS.
    pub fn of(key: &OperatorKey, identity: &ClusterIdentity, tls: bool) -> Self {
        Credential {
            secret: key.cluster_secret(identity),
            secret_name: identity.cluster_secret_name(),
            tls,
        }
    }

    /// An admin client of the member at `address` that sends the cluster secret.
    pub fn client(&self, address: String, timeout: Duration) -> AdminClient {
        AdminClient::new(address)
            .with_timeout(timeout)
            .with_credential(Some(self.secret.expose().to_owned()))
            .with_tls(self.tls.then_some(ringcache_admin::AdminTls::SecretBound))
    }

    /// What to tell people when `members` (for example `member 2` or `members 0, 1`) refused the
    /// cluster secret.
    pub fn rejected_message(&self, members: &str) -> String {
        secret_rejected_message(members, &self.secret_name)
    }
}

/// What to tell people when `members` refused the cluster secret carried by the Secret
/// `secret_name`: what is wrong, why it can happen, and what fixes it.
pub fn secret_rejected_message(members: &str, secret_name: &str) -> String {
    format!(
        "{members} refused the operator's cluster secret (HTTP 401): the member does not have the \
         operator's cluster secret, because the Secret {secret_name} was changed by hand or the \
         operator key (--cluster-key-file) changed since the member started. The operator writes \
         the Secret back on every reconcile and a member reads it when it starts: restart the \
         members that refuse it; after a key change, put the previous key back (or restart every \
         member at once: members with different secrets cannot reach each other)"
    )
}

/// Whether `error` is a member refusing the credential (HTTP 401).
pub fn is_unauthorized(error: &AdminClientError) -> bool {
    matches!(error, AdminClientError::Api { status: 401, .. })
        || error
            .api_error()
            .is_some_and(|body| body.kind == ErrorKind::Unauthorized)
}

/// What the members said this round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataPlane {
    /// Admin address (`ip:port`) of every pod that has an IP, by ordinal.
    pub addresses: BTreeMap<u32, String>,
    /// Status of every member that answered, by ordinal.
    pub statuses: BTreeMap<u32, MemberStatus>,
    /// Why the others did not, by ordinal.
    pub unanswered: BTreeMap<u32, String>,
    /// The members among those that refused the cluster secret (HTTP 401).
    pub rejected_secret: BTreeSet<u32>,
    /// What every admin call to this cluster's members sends.
    pub credential: Credential,
}

impl DataPlane {
    /// Reads the status of the pods with ordinals below `members`, all at once, authenticated with
    /// `credential`.
    pub async fn read(
        observed: &Observed,
        identity: &ClusterIdentity,
        members: i32,
        credential: &Credential,
    ) -> Self {
        let addresses = admin_addresses(&observed.pods, identity, members);
        let calls = addresses.iter().map(|(ordinal, address)| async move {
            let client = credential.client(address.clone(), STATUS_TIMEOUT);
            (*ordinal, client.status().await)
        });
        let mut plane = DataPlane {
            addresses: addresses.clone(),
            credential: credential.clone(),
            ..DataPlane::default()
        };
        for (ordinal, result) in futures::future::join_all(calls).await {
            match result {
                Ok(status) if u32::from(status.member.ordinal) == ordinal => {
                    plane.statuses.insert(ordinal, status);
                }
                Ok(status) => {
                    plane.unanswered.insert(
                        ordinal,
                        format!(
                            "the pod answers as member {}, not {ordinal}",
                            status.member.ordinal
                        ),
                    );
                }
                Err(error) => {
                    if is_unauthorized(&error) {
                        plane.rejected_secret.insert(ordinal);
                    }
                    plane.unanswered.insert(ordinal, error.to_string());
                }
            }
        }
        plane
    }

    /// Whether any member joined a cluster (the cluster was formed).
    pub fn formed(&self) -> bool {
        self.statuses
            .values()
            .any(|status| status.cluster.is_some())
    }

    /// The joined members as replicas, for a new member to learn routes from.
    pub fn joined_members(&self) -> Vec<Replica> {
        self.statuses
            .values()
            .filter(|status| status.cluster.is_some())
            .map(|status| status.member.clone())
            .collect()
    }

    /// The observed placement. A replica is stale when its member answered with another id (it
    /// came back empty) or its ordinal is outside the StatefulSet (`statefulset_replicas`).
    pub fn placement(&self, statefulset_replicas: u32) -> ObservedCluster {
        let live_ids: BTreeMap<u32, u64> = self
            .statuses
            .iter()
            .map(|(ordinal, status)| (*ordinal, status.member.id))
            .collect();
        let observe = |replica: &Replica| {
            let member = u32::from(replica.ordinal);
            ObservedReplica {
                id: replica.id,
                member,
                stale: member >= statefulset_replicas
                    || live_ids.get(&member).is_some_and(|id| *id != replica.id),
            }
        };
        let mut cluster = ObservedCluster {
            silent: (0..statefulset_replicas)
                .filter(|ordinal| !self.statuses.contains_key(ordinal))
                .collect(),
            ..ObservedCluster::default()
        };
        for (ordinal, status) in &self.statuses {
            cluster.members.insert(
                *ordinal,
                ObservedMember {
                    id: status.member.id,
                    joined: status.cluster.is_some(),
                    hosted: status
                        .partitions
                        .iter()
                        .map(|partition| partition.partition)
                        .collect(),
                    keys: status
                        .partitions
                        .iter()
                        .map(|partition| (partition.partition, partition.keys))
                        .collect(),
                    bytes: status
                        .partitions
                        .iter()
                        .map(|partition| (partition.partition, partition.used_memory))
                        .collect(),
                    used_memory: status.used_memory,
                    max_memory: status.max_memory,
                },
            );
        }
        for (partition, report) in best_reports(&self.statuses) {
            let leader = report
                .leader
                .as_ref()
                .map(&observe)
                .filter(|leader| !leader.stale)
                .map(|leader| leader.member);
            let matched = report
                .replication
                .iter()
                .map(|progress| (progress.id, progress.matched_index))
                .collect();
            cluster.groups.insert(
                partition,
                ObservedGroup {
                    voters: report.voters.iter().map(&observe).collect(),
                    learners: report.learners.iter().map(&observe).collect(),
                    leader,
                    joint: report.joint,
                    committed_index: report.committed_index,
                    matched,
                },
            );
        }
        cluster
    }
}

/// Per partition, the report to trust: the leader's own in the highest term, else the one of the
/// highest term (whose view of the configuration is the most recent).
fn best_reports(statuses: &BTreeMap<u32, MemberStatus>) -> BTreeMap<u32, &PartitionStatus> {
    let mut best: BTreeMap<u32, &PartitionStatus> = BTreeMap::new();
    for report in statuses.values().flat_map(|status| &status.partitions) {
        // A replica that only hosts the partition (not yet added, or removed) knows no group.
        if report.voters.is_empty() {
            continue;
        }
        let rank = |report: &PartitionStatus| {
            (
                report.term,
                report.role == Role::Leader,
                report.committed_index,
            )
        };
        let better = best
            .get(&report.partition)
            .is_none_or(|known| rank(report) > rank(known));
        if better {
            best.insert(report.partition, report);
        }
    }
    best
}

/// `ip:9090` of every live pod of the StatefulSet with an ordinal below `members`.
pub fn admin_addresses(
    pods: &[Pod],
    identity: &ClusterIdentity,
    members: i32,
) -> BTreeMap<u32, String> {
    let prefix = format!("{}-", identity.statefulset_name());
    pods.iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .filter_map(|pod| {
            let ordinal: u32 = pod.name_any().strip_prefix(&prefix)?.parse().ok()?;
            let ip = pod
                .status
                .as_ref()?
                .pod_ip
                .clone()
                .filter(|ip| !ip.is_empty())?;
            (i64::from(ordinal) < i64::from(members))
                .then(|| (ordinal, format!("{ip}:{ADMIN_PORT}")))
        })
        .collect()
}

/// The highest ordinal that still holds anything, plus one (0 when none does).
pub fn members_holding_data(cluster: &ObservedCluster) -> MemberId {
    let named: BTreeSet<MemberId> = cluster
        .groups
        .values()
        .flat_map(|group| group.voters.iter().chain(&group.learners))
        .map(|replica| replica.member)
        .chain(
            cluster
                .members
                .iter()
                .filter(|(_, member)| !member.hosted.is_empty())
                .map(|(ordinal, _)| *ordinal),
        )
        .collect();
    named.last().map_or(0, |highest| highest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_admin::{ClusterSettings, ReplicaProgress};

    fn replica(ordinal: u16, incarnation: u64) -> Replica {
        Replica {
            id: (u64::from(ordinal) << 48) | incarnation,
            ordinal,
            address: format!("10.0.0.{ordinal}:6379@16379"),
        }
    }

    fn report(partition: u32, role: Role, term: u64, voters: &[Replica]) -> PartitionStatus {
        PartitionStatus {
            partition,
            slots: [0, 1],
            role,
            term,
            leader: voters.first().cloned(),
            voters: voters.to_vec(),
            learners: vec![],
            joint: false,
            last_log_index: Some(9),
            committed_index: Some(9),
            applied_index: Some(9),
            snapshot_index: None,
            keys: 3,
            used_memory: 300,
            replication: vec![],
        }
    }

    fn member(ordinal: u16, incarnation: u64, partitions: Vec<PartitionStatus>) -> MemberStatus {
        MemberStatus {
            member: replica(ordinal, incarnation),
            cluster: Some(ClusterSettings {
                partitions: 4,
                replication_factor: 2,
            }),
            ready: true,
            not_ready_reason: None,
            partitions,
            used_memory: 0,
            max_memory: 0,
        }
    }

    #[test]
    fn the_leaders_report_wins_and_stale_ids_are_marked() {
        let (a, b) = (replica(0, 1), replica(1, 1));
        let mut leader_report = report(0, Role::Leader, 3, &[a.clone(), b.clone()]);
        leader_report.replication = vec![ReplicaProgress {
            id: b.id,
            matched_index: Some(7),
        }];
        let plane = DataPlane {
            statuses: BTreeMap::from([
                (0, member(0, 1, vec![leader_report])),
                // Member 1 came back empty: new incarnation, hosting nothing.
                (1, member(1, 2, vec![])),
                // Member 2 hosts partition 0 (not yet added): its empty report is ignored.
                (2, member(2, 1, vec![report(0, Role::Learner, 0, &[])])),
            ]),
            ..DataPlane::default()
        };
        let cluster = plane.placement(3);
        let group = &cluster.groups[&0];
        assert_eq!(group.leader, Some(0));
        assert!(!group.voters[0].stale);
        assert!(group.voters[1].stale, "member 1 answered with another id");
        assert_eq!(group.matched[&b.id], Some(7));
        assert!(cluster.hosts(2, 0));
        assert_eq!(members_holding_data(&cluster), 3);
        // Outside the StatefulSet, every replica is stale.
        assert!(plane.placement(1).groups[&0].voters[1].stale);
    }

    #[test]
    fn a_higher_term_beats_an_older_leader() {
        let (a, b) = (replica(0, 1), replica(1, 1));
        let plane = DataPlane {
            statuses: BTreeMap::from([
                (
                    0,
                    member(
                        0,
                        1,
                        vec![report(0, Role::Leader, 2, &[a.clone(), b.clone()])],
                    ),
                ),
                (
                    1,
                    member(1, 1, vec![report(0, Role::Follower, 3, &[b.clone(), a])]),
                ),
            ]),
            ..DataPlane::default()
        };
        assert_eq!(plane.placement(2).groups[&0].leader, Some(1));
    }
}
