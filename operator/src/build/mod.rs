//! Pure builders: from a validated `CacheCluster` to the Kubernetes objects it needs.
//!
//! Nothing here talks to the API server, reads a clock or fails: the reconciler validates first
//! ([`crate::reconcile::validate`]) and hands these functions a [`DesiredCluster`], so every builder is
//! a plain function that unit tests can call and compare.

pub mod cluster_secret;
pub mod configmap;
pub mod desired;
pub mod identity;
pub mod network_policy;
pub mod pdb;
pub mod quantity;
pub mod service_account;
pub mod service_monitor;
pub mod services;
pub mod statefulset;

pub use desired::DesiredCluster;
pub use identity::ClusterIdentity;
pub use network_policy::OperatorPods;

/// Port of the Redis protocol (RESP).
pub const RESP_PORT: i32 = 6379;
/// Port of the cluster protocol (Raft between members).
pub const CLUSTER_PORT: i32 = 16379;
/// Port of the node's HTTP admin API, `/metrics`, `/healthz` and `/readyz`.
pub const ADMIN_PORT: i32 = 9090;
/// Readiness path of the node's admin port.
pub const READINESS_PATH: &str = "/readyz";
/// Liveness path of the node's admin port.
pub const LIVENESS_PATH: &str = "/healthz";
/// The node's pre-stop endpoint: hands away Raft leadership of every partition the node leads and
/// answers when done (or after its own bound). Kubernetes' `httpGet` hook can only send `GET`.
pub const PRE_STOP_PATH: &str = "/v1/lifecycle/pre-stop";
/// Where a node keeps its Raft state.
pub const DATA_DIR: &str = "/data";
/// Where the cluster's ConfigMap is mounted.
pub const CONFIG_DIR: &str = "/etc/ringcache/config";
/// Where the auth Secret's password is mounted.
pub const AUTH_DIR: &str = "/etc/ringcache/auth";
/// Where the cluster's own Secret (`<name>-cluster-secret`) is mounted; the node reads
/// [`CLUSTER_SECRET_KEY`] there (`--cluster-secret-file`).
pub const CLUSTER_SECRET_DIR: &str = "/etc/ringcache/cluster";
/// Where the `spec.tls` Secret is mounted (its keys `tls.crt`, `tls.key`, `ca.crt` as files).
pub const TLS_DIR: &str = "/etc/ringcache/tls";
/// Key of the cluster secret in the Secret, and its file name in [`CLUSTER_SECRET_DIR`].
pub const CLUSTER_SECRET_KEY: &str = "secret";
/// File name of the ring description inside the ConfigMap.
pub const RING_FILE: &str = "ring.json";
/// The user and group the node runs as (the conventional "nonroot" id of distroless images).
pub const NODE_USER_ID: i64 = 65532;
