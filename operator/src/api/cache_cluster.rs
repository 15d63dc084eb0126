//! The `CacheCluster` custom resource and its spec, from which `crds/cacheclusters.cache.ringcache.dev.yaml`
//! is generated (`ringcache-operator crd`).

// The repeated `printcolumn(type_ = …)` arguments of `#[kube(...)]` are separate columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

use super::{
    AuthSpec, CacheClusterStatus, ClientServiceSpec, EvictionPolicy, ImagePullPolicy,
    MonitoringSpec, NetworkPolicySpec, PersistenceSpec, PodDisruptionBudgetSpec, PodSpecOptions,
    RebalanceSpec, SelfRepairSpec,
};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use serde::{Deserialize, Serialize};

/// API group of `CacheCluster`.
pub const API_GROUP: &str = "cache.ringcache.dev";
/// API version of `CacheCluster`.
pub const API_VERSION: &str = "v1alpha1";

/// Desired state of a ringcache cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cache.ringcache.dev",
    version = "v1alpha1",
    kind = "CacheCluster",
    plural = "cacheclusters",
    singular = "cachecluster",
    shortname = "cc",
    namespaced,
    status = "CacheClusterStatus",
    derive = "PartialEq",
    doc = "A ringcache cache cluster: a StatefulSet of ringcache-node pods that shard keys over partitions, each partition a Raft group replicated on replicationFactor members, reachable with any Redis client.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".spec.replicas",
        description = "Members asked for"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Pods that are ready"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Summary of the cluster's state"
    ),
    printcolumn(
        name = "Rebalance",
        type_ = "string",
        json_path = ".status.rebalance.progress",
        description = "Replica moves done/total"
    ),
    printcolumn(
        name = "Ring",
        type_ = "integer",
        json_path = ".status.ringVersion",
        description = "Version of the published ring"
    ),
    printcolumn(
        name = "Available",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Available\")].status",
        description = "Every partition has a leader and a live majority",
        priority = 1
    ),
    printcolumn(
        name = "Replicas/Member",
        type_ = "string",
        json_path = ".status.spread.replicas",
        description = "Fewest and most partition replicas a member hosts",
        priority = 1
    ),
    printcolumn(
        name = "Leaders/Member",
        type_ = "string",
        json_path = ".status.spread.leaders",
        description = "Fewest and most partitions a member leads",
        priority = 1
    ),
    printcolumn(
        name = "Memory/Member",
        type_ = "string",
        json_path = ".status.spread.memory",
        description = "Least and most data a member holds (estimated bytes)",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.replicas >= self.replicationFactor").message("replicas must be at least replicationFactor (every partition needs replicationFactor distinct members)"))]
#[x_kube(validation = Rule::new("!(has(self.maxMemory) && has(self.maxMemoryPercent))").message("set at most one of maxMemory and maxMemoryPercent"))]
pub struct CacheClusterSpec {
    /// Number of members (pods). This is intent: on scale-out the operator adds pods first and then
    /// moves partition replicas onto them; on scale-in it drains the highest ordinals before it
    /// removes their pods. `kubectl scale` and HorizontalPodAutoscalers set this field.
    #[schemars(range(min = 1, max = 1000))]
    pub replicas: i32,
    /// Replicas of every partition (the size of each partition's Raft group). 3 tolerates the loss of
    /// one member per partition without losing a write quorum. Fixed at creation.
    #[serde(default = "default_replication_factor")]
    #[schemars(range(min = 1, max = 7))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("replicationFactor cannot change after creation"))]
    pub replication_factor: i32,
    /// Number of partitions keys are sharded over (each owns a contiguous range of the 16384 Redis
    /// Cluster hash slots). Fixed at creation.
    #[serde(default = "default_partitions")]
    #[schemars(range(min = 1, max = 16384))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("partitions cannot change after creation"))]
    pub partitions: i32,
    /// Container image of `ringcache-node`.
    #[serde(default = "default_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// When the kubelet pulls the image.
    #[serde(default)]
    pub image_pull_policy: ImagePullPolicy,
    /// CPU and memory requests and limits of the cache container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Memory limit for cached data per node, as a Kubernetes quantity (`768Mi`). When neither this
    /// nor `maxMemoryPercent` is set, 75% of the container's memory limit is used if it has one, and
    /// no limit otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$"))]
    pub max_memory: Option<String>,
    /// Memory limit for cached data as a percentage of the container's memory limit
    /// (`resources.limits.memory`, which must then be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_memory_percent: Option<i32>,
    /// What a node does when its memory limit is reached.
    #[serde(default)]
    pub eviction_policy: EvictionPolicy,
    /// Durable storage for each node's Raft state.
    #[serde(default)]
    pub persistence: PersistenceSpec,
    /// Password authentication for clients. Off when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// TLS on the Redis port and mutual TLS between the members. Off when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::TlsSpec>,
    /// Scheduling and metadata of the pods.
    #[serde(default)]
    pub pod: PodSpecOptions,
    /// The PodDisruptionBudget of the pods.
    #[serde(default)]
    pub pod_disruption_budget: PodDisruptionBudgetSpec,
    /// Prometheus integration.
    #[serde(default)]
    pub monitoring: MonitoringSpec,
    /// Control over data movement when `replicas` changes.
    #[serde(default)]
    pub rebalance: RebalanceSpec,
    /// Restoring partitions that lost a replica.
    #[serde(default)]
    pub self_repair: SelfRepairSpec,
    /// The Service clients connect to.
    #[serde(default)]
    pub service: ClientServiceSpec,
    /// The NetworkPolicy the operator keeps for the pods: who may reach the Redis, cluster and admin
    /// ports. On by default.
    #[serde(default)]
    pub network_policy: NetworkPolicySpec,
}

/// Default replication factor.
pub fn default_replication_factor() -> i32 {
    3
}

/// Default partition count (the placement crate's default).
pub fn default_partitions() -> i32 {
    ringcache_placement::DEFAULT_PARTITIONS as i32
}

/// Default node image.
pub fn default_image() -> String {
    format!(
        "ghcr.io/ringcache/ringcache-node:{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The CustomResourceDefinition of `CacheCluster`.
pub fn crd() -> CustomResourceDefinition {
    CacheCluster::crd()
}

/// The CRD as the YAML document `ringcache-operator crd` prints and `crds/` holds.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(&crd())?;
    Ok(format!(
        "# Generated by `ringcache-operator crd` from operator/src/api; do not edit by hand.\n{body}"
    ))
}
