//! The cluster's ConfigMap: the ring the operator publishes to the nodes (`ring.json`).
//!
//! Nodes will read it to learn the member set and placement parameters (with the Raft issue). It is
//! mounted, not hashed into the pod template, so publishing a new ring never restarts pods.

use super::{DesiredCluster, RING_FILE};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;
use std::collections::BTreeMap;

/// The ConfigMap holding `ring.json`.
pub fn build_configmap(desired: &DesiredCluster) -> ConfigMap {
    let identity = &desired.identity;
    let spec = &desired.cluster.spec;
    let ring = json!({
        "version": desired.ring_version,
        "members": desired.ring_members,
        "partitions": spec.partitions,
        "replicationFactor": spec.replication_factor,
        "seed": 0,
        "memberAddressTemplate": format!(
            "{}-{{ordinal}}.{}.{}.svc",
            identity.statefulset_name(),
            identity.headless_service_name(),
            identity.namespace
        ),
        "clusterPort": super::CLUSTER_PORT,
        "adminPort": super::ADMIN_PORT,
    });
    ConfigMap {
        metadata: identity.metadata(identity.configmap_name(), "config"),
        data: Some(BTreeMap::from([(
            RING_FILE.to_owned(),
            serde_json::to_string_pretty(&ring).expect("a JSON value serializes"),
        )])),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn publishes_the_ring() {
        let mut state = desired(cluster(5));
        state.ring_version = 4;
        state.ring_members = 4;
        let configmap = build_configmap(&state);
        assert_eq!(configmap.metadata.name.as_deref(), Some("demo-config"));
        let ring: serde_json::Value =
            serde_json::from_str(&configmap.data.unwrap()["ring.json"]).unwrap();
        assert_eq!(
            ring,
            json!({
                "version": 4,
                "members": 4,
                "partitions": 64,
                "replicationFactor": 3,
                "seed": 0,
                "memberAddressTemplate": "demo-{ordinal}.demo-nodes.cache.svc",
                "clusterPort": 16379,
                "adminPort": 9090
            })
        );
    }
}
