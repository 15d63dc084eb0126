//! The `CacheCluster` API (`cache.ringcache.dev/v1alpha1`): the Rust types the CRD is generated from.
//!
//! Doc comments on fields become the schema's descriptions, which is what `kubectl explain` shows, so
//! they are written for users. CEL rules (`x-kubernetes-validations`) sit next to the fields they guard.

pub mod auth;
pub mod cache_cluster;
pub mod disruption;
pub mod memory;
pub mod monitoring;
pub mod network_policy;
pub mod persistence;
pub mod pod;
pub mod rebalance;
pub mod repair;
pub mod service;
pub mod status;
pub mod tls;

pub use auth::AuthSpec;
pub use cache_cluster::{API_GROUP, API_VERSION, CacheCluster, CacheClusterSpec, crd, crd_yaml};
pub use disruption::PodDisruptionBudgetSpec;
pub use memory::EvictionPolicy;
pub use monitoring::{MonitoringSpec, ServiceMonitorSpec};
pub use network_policy::NetworkPolicySpec;
pub use persistence::PersistenceSpec;
pub use pod::{ImagePullPolicy, PodSpecOptions};
pub use rebalance::RebalanceSpec;
pub use repair::SelfRepairSpec;
pub use service::{ClientServiceSpec, ServiceType};
pub use status::{
    CacheClusterStatus, ClusterPhase, ConditionType, MemberStatus, MoveStatus, RebalancePhase,
    RebalanceStatus, SpreadStatus,
};
pub use tls::TlsSpec;
