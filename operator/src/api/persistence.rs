//! `spec.persistence`: where a node keeps its Raft log, votes and snapshots (a PVC per pod, or none).

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Durable storage for each node's Raft log, vote and snapshots. Without it a restarted pod comes
/// back empty and rejoins under a new Raft identity, copying its partitions from the other replicas.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.enabled == oldSelf.enabled").message("persistence.enabled cannot change after creation (a StatefulSet's volume claims are fixed)"))]
#[x_kube(validation = Rule::new("has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)").message("persistence.storageClassName cannot change after creation"))]
pub struct PersistenceSpec {
    /// Give every pod a PersistentVolumeClaim (from the StatefulSet's volume claim template). Fixed
    /// at creation.
    #[serde(default)]
    pub enabled: bool,
    /// Size of each pod's volume, as a Kubernetes quantity (`10Gi`). It may only grow.
    #[serde(default = "default_size")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    #[x_kube(validation = Rule::new("quantity(self).compareTo(quantity(oldSelf)) >= 0").message("persistence.size may only grow"))]
    pub size: String,
    /// StorageClass of the volumes; the cluster's default StorageClass when unset. Fixed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Flush every Raft log append and vote to disk (fsync) before acknowledging it. Off (the
    /// default): a pod or process crash loses nothing, but one machine's power loss can roll back
    /// that member's log and vote, after which an election can lose an acknowledged write even
    /// though only one machine failed. On: acknowledged writes survive the power loss of a
    /// minority of each partition's machines, and every write waits for a disk flush. Changing it
    /// restarts the pods one at a time.
    #[serde(default)]
    pub fsync: bool,
}

impl Default for PersistenceSpec {
    fn default() -> Self {
        PersistenceSpec {
            enabled: false,
            size: default_size(),
            storage_class_name: None,
            fsync: false,
        }
    }
}

fn default_size() -> String {
    "1Gi".to_owned()
}
