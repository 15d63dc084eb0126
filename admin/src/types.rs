//! Request and response bodies (JSON, camelCase like Kubernetes).

use serde::{Deserialize, Serialize};

/// What a member was told about the cluster it belongs to. Fixed when the cluster is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSettings {
    /// Number of partitions (1 to 16384); each owns a contiguous slot range.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
}

/// One replica of a partition: a member's Raft identity and addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replica {
    /// Raft node id: `ordinal << 48 | incarnation`. Changes when the member's data dir starts empty.
    pub id: u64,
    /// The member's StatefulSet ordinal.
    pub ordinal: u16,
    /// `host:port@clusterPort`, as in Redis Cluster's `CLUSTER NODES`.
    pub address: String,
}

impl Replica {
    /// `host:port` where Redis clients reach the member.
    pub fn client_address(&self) -> &str {
        self.address
            .split_once('@')
            .map_or(self.address.as_str(), |(client, _)| client)
    }
}

/// A member's role in one partition's Raft group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

/// One hosted partition as the member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStatus {
    pub partition: u32,
    /// First and last slot (inclusive).
    pub slots: [u16; 2],
    pub role: Role,
    pub term: u64,
    pub leader: Option<Replica>,
    pub voters: Vec<Replica>,
    pub learners: Vec<Replica>,
    /// A membership change is half-way (joint consensus).
    pub joint: bool,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    /// Keys this replica holds (including logically expired ones not yet deleted).
    pub keys: u64,
    /// On the leader: how far each other replica's log is known to match the leader's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<ReplicaProgress>,
}

/// How far one replica's log matches the leader's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaProgress {
    pub id: u64,
    pub matched_index: Option<u64>,
}

/// `POST /v1/cluster/join`: join the cluster described by `settings` without hosting anything;
/// `members` are peers to learn the routes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub settings: ClusterSettings,
    pub members: Vec<Replica>,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// This member as a replica (id, ordinal, address).
    pub member: Replica,
    /// `None` until the member joined a formed cluster.
    pub cluster: Option<ClusterSettings>,
    /// What `/readyz` answers.
    pub ready: bool,
    /// Why not ready, when not.
    pub not_ready_reason: Option<String>,
    pub partitions: Vec<PartitionStatus>,
}

/// A member to form a cluster with: its ordinal and where its admin API listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormMember {
    pub ordinal: u16,
    /// `host:port` of the member's admin API.
    pub admin_address: String,
}

/// `POST /v1/cluster/form`: place `partitions` × `replicationFactor` replicas over the members
/// (ordinals must be 0..N-1) and start every Raft group. Idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormRequest {
    pub settings: ClusterSettings,
    pub members: Vec<FormMember>,
}

/// Answer of `POST /v1/cluster/form`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormResponse {
    pub members: Vec<Replica>,
    /// Partitions whose group was initialized by this call (0 when repeated).
    pub bootstrapped: u32,
}

/// `PUT /v1/partitions/{p}`: host a replica of `p` here. Joins the member to the cluster (its
/// settings) if it was not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRequest {
    pub settings: ClusterSettings,
}

/// `POST /v1/partitions/{p}/bootstrap`: initialize the group with these voters (this member among
/// them) unless it already exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapRequest {
    pub voters: Vec<Replica>,
}

/// `POST /v1/partitions/{p}/learners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddLearnerRequest {
    pub replica: Replica,
}

/// `POST /v1/partitions/{p}/promote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromoteRequest {
    pub id: u64,
}

/// `POST /v1/partitions/{p}/transfer-leadership`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferLeadershipRequest {
    pub to: u64,
}

/// Answer of `POST /v1/leave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveResponse {
    /// Partitions whose leadership moved away.
    pub transferred: Vec<u32>,
    /// Partitions still led here (no other voter could take over in time).
    pub still_leading: Vec<u32>,
}

/// Category of an admin error (fixed set, safe as a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Run it on the partition's leader (named in `leader` when known). HTTP 421.
    NotLeader,
    /// This member does not host the partition. HTTP 404.
    NotHosted,
    /// The member has not joined a cluster yet. HTTP 409.
    NotFormed,
    /// The request is malformed or contradicts the cluster. HTTP 400.
    BadRequest,
    /// Raft refused the change (e.g. another change in flight); retry. HTTP 409.
    Refused,
    /// Not finished in time; it may still complete, so retry. HTTP 504.
    Timeout,
    /// The member cannot serve it now (shutting down, a peer unreachable). HTTP 503.
    Unavailable,
    /// Storage or another internal failure. HTTP 500.
    Internal,
}

impl ErrorKind {
    /// The HTTP status the node answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotLeader => 421,
            ErrorKind::NotHosted => 404,
            ErrorKind::NotFormed | ErrorKind::Refused => 409,
            ErrorKind::BadRequest => 400,
            ErrorKind::Timeout => 504,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub kind: ErrorKind,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// For `NotLeader`: the leader, when known.
    pub leader: Option<Replica>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_address_strips_the_cluster_port() {
        let replica = Replica {
            id: 1,
            ordinal: 0,
            address: "10.0.0.1:6379@16379".to_owned(),
        };
        assert_eq!(replica.client_address(), "10.0.0.1:6379");
    }

    #[test]
    fn status_uses_camel_case_field_names() {
        let status = MemberStatus {
            member: Replica {
                id: 7,
                ordinal: 2,
                address: "a:1@2".to_owned(),
            },
            cluster: Some(ClusterSettings {
                partitions: 64,
                replication_factor: 3,
            }),
            ready: false,
            not_ready_reason: Some("x".to_owned()),
            partitions: vec![],
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["cluster"]["replicationFactor"], 3);
        assert_eq!(json["notReadyReason"], "x");
        let back: MemberStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }
}
