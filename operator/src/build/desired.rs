//! [`DesiredCluster`]: everything the builders need, resolved and validated, in one value.

use super::{ClusterIdentity, OperatorPods};
use crate::api::CacheCluster;
use crate::key::ClusterSecret;

/// A validated CacheCluster plus the decisions the reconciler made for it (the ring to publish, the
/// StatefulSet's size), from which every object is built.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredCluster {
    /// The CacheCluster as read.
    pub cluster: CacheCluster,
    /// Names, labels and owner reference of its objects.
    pub identity: ClusterIdentity,
    /// Bytes passed as the node's `--maxmemory` (0: no limit).
    pub max_memory_bytes: u64,
    /// Replicas of the StatefulSet. Not always `spec.replicas`: on scale-in the pods of members
    /// that still hold data stay until they are drained.
    pub statefulset_replicas: i32,
    /// Version of the ring published in the ConfigMap.
    pub ring_version: i64,
    /// Member count of the ring published in the ConfigMap.
    pub ring_members: i32,
    /// Size of each pod's volume claim: the existing StatefulSet's (its claim templates are
    /// immutable) or, for a new one, `spec.persistence.size`.
    pub claim_size: String,
    /// The cluster's secret, derived from the operator key (the Secret's content).
    pub cluster_secret: ClusterSecret,
    /// Where the operator runs, for the NetworkPolicy's admin-port rule.
    pub operator: OperatorPods,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::CacheClusterSpec;

    /// A CacheCluster as the API server would hand it over: namespaced, with a uid and generation.
    pub(crate) fn cluster(replicas: i32) -> CacheCluster {
        let spec: CacheClusterSpec =
            serde_json::from_value(serde_json::json!({ "replicas": replicas })).unwrap();
        let mut cluster = CacheCluster::new("demo", spec);
        cluster.metadata.namespace = Some("cache".to_owned());
        cluster.metadata.uid = Some("0b1c2d3e-0000-4000-8000-000000000001".to_owned());
        cluster.metadata.generation = Some(1);
        cluster
    }

    /// The desired state of [`cluster`] with its ring equal to `spec.replicas`.
    pub(crate) fn desired(cluster: CacheCluster) -> DesiredCluster {
        let replicas = cluster.spec.replicas;
        DesiredCluster {
            identity: ClusterIdentity::of(&cluster).unwrap(),
            claim_size: cluster.spec.persistence.size.clone(),
            max_memory_bytes: 0,
            statefulset_replicas: replicas,
            ring_version: 1,
            ring_members: replicas,
            cluster_secret: crate::key::tests::test_key()
                .cluster_secret(&ClusterIdentity::of(&cluster).unwrap()),
            operator: OperatorPods {
                namespace: Some("ringcache-system".to_owned()),
                labels: Some(std::collections::BTreeMap::from([
                    (
                        "app.kubernetes.io/name".to_owned(),
                        "ringcache-operator".to_owned(),
                    ),
                    ("app.kubernetes.io/instance".to_owned(), "rc".to_owned()),
                ])),
            },
            cluster,
        }
    }
}
