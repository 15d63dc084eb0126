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
    /// Estimated bytes of this replica's data (the node's `used_memory` estimate, restricted to
    /// the partition's slots): what a member that receives the partition will hold.
    #[serde(default)]
    pub used_memory: u64,
    /// On the partition's leader: how far every other voter and learner holds the log (a
    /// learner has caught up once its `matchedIndex` reaches `committedIndex`). Empty, and left
    /// out of the JSON, on every other replica.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<ReplicaProgress>,
}

/// How far one replica holds its partition's log, as the partition's leader knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaProgress {
    /// The replica's Raft id.
    pub id: u64,
    /// The highest log index the leader knows the replica holds; `None` until it acknowledged
    /// any (a replica that just joined, or one the leader has not reached yet).
    pub matched_index: Option<u64>,
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
    /// Estimated bytes of all data the member holds (`INFO memory`'s `used_memory`).
    #[serde(default)]
    pub used_memory: u64,
    /// The member's `maxmemory` in bytes (0: no limit).
    #[serde(default)]
    pub max_memory: u64,
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

/// `POST /v1/cluster/join`: join the cluster described by `settings` without hosting anything
/// yet (idempotent; different settings than the member already has are refused), and remember
/// `members` as seed peers: a member hosting no replica learns from them who leads each
/// partition, so it can serve clients (forwarding) and be ready before any replica moves to it.
/// The seeds replace those of the previous join; the member leaves itself out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub settings: ClusterSettings,
    pub members: Vec<Replica>,
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
    /// No credential, or not the cluster's (`Authorization: Bearer <cluster secret>`). HTTP 401.
    Unauthorized,
    /// Called again too soon (the unauthenticated pre-stop hook). HTTP 429.
    TooManyRequests,
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
            ErrorKind::Unauthorized => 401,
            ErrorKind::TooManyRequests => 429,
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
            used_memory: 4096,
            max_memory: 0,
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["cluster"]["replicationFactor"], 3);
        assert_eq!(json["notReadyReason"], "x");
        assert_eq!(json["usedMemory"], 4096);
        let back: MemberStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    fn partition(replication: Vec<ReplicaProgress>) -> PartitionStatus {
        PartitionStatus {
            partition: 3,
            slots: [768, 1023],
            role: Role::Leader,
            term: 2,
            leader: None,
            voters: vec![],
            learners: vec![],
            joint: false,
            last_log_index: Some(9),
            committed_index: Some(9),
            applied_index: Some(9),
            snapshot_index: None,
            keys: 0,
            used_memory: 0,
            replication,
        }
    }

    #[test]
    fn replication_progress_is_camel_case_and_left_out_when_empty() {
        let leading = partition(vec![
            ReplicaProgress {
                id: 5,
                matched_index: Some(9),
            },
            ReplicaProgress {
                id: 6,
                matched_index: None,
            },
        ]);
        let json = serde_json::to_value(&leading).unwrap();
        assert_eq!(
            json["replication"],
            serde_json::json!([{"id": 5, "matchedIndex": 9}, {"id": 6, "matchedIndex": null}])
        );
        assert_eq!(
            serde_json::from_value::<PartitionStatus>(json).unwrap(),
            leading
        );

        let following = serde_json::to_value(partition(vec![])).unwrap();
        assert!(following.get("replication").is_none(), "{following}");
        // What a member without this field sent still parses.
        assert_eq!(
            serde_json::from_value::<PartitionStatus>(following).unwrap(),
            partition(vec![])
        );
    }

    #[test]
    fn join_request_parses_from_camel_case() {
        let request: JoinRequest = serde_json::from_str(
            r#"{"settings": {"partitions": 16, "replicationFactor": 3},
                "members": [{"id": 281474976710657, "ordinal": 1, "address": "a:6379@16379"}]}"#,
        )
        .unwrap();
        assert_eq!(request.settings.replication_factor, 3);
        assert_eq!(request.members[0].ordinal, 1);
        assert!(
            serde_json::from_str::<JoinRequest>(r#"{"settings": {"partitions": 16}}"#).is_err()
        );
    }
}
