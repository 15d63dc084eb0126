//! The observe phase: read what exists for a cluster (its StatefulSet and pods). The CacheCluster
//! itself comes from the controller's watch.

use crate::build::ClusterIdentity;
use crate::build::statefulset::DATA_VOLUME;
use crate::error::ReconcileError;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

/// What the API server holds for one cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The cluster's StatefulSet, if it exists.
    pub statefulset: Option<StatefulSet>,
    /// The cluster's pods (by label selector).
    pub pods: Vec<Pod>,
}

impl Observed {
    /// Reads the StatefulSet and the pods.
    pub async fn read(client: &Client, identity: &ClusterIdentity) -> Result<Self, ReconcileError> {
        let error = |kind: &'static str| {
            move |source| ReconcileError::Observe {
                kind,
                namespace: identity.namespace.clone(),
                name: identity.name.clone(),
                source,
            }
        };
        let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &identity.namespace);
        let statefulset = statefulsets
            .get_opt(&identity.statefulset_name())
            .await
            .map_err(error("StatefulSet"))?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &identity.namespace);
        let pods = pods
            .list(&ListParams::default().labels(&identity.selector_string()))
            .await
            .map_err(error("Pod"))?
            .items;
        Ok(Observed { statefulset, pods })
    }

    /// Replicas of the existing StatefulSet's spec.
    pub fn statefulset_replicas(&self) -> Option<i32> {
        self.statefulset
            .as_ref()
            .map(|statefulset| statefulset.spec.replicas.unwrap_or(1))
    }

    /// The storage request of the existing StatefulSet's data claim template (immutable).
    pub fn claim_size(&self) -> Option<String> {
        self.statefulset
            .as_ref()?
            .spec
            .volume_claim_templates
            .as_ref()?
            .iter()
            .find(|claim| claim.metadata.name.as_deref() == Some(DATA_VOLUME))?
            .spec
            .as_ref()?
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("storage")
            .map(|quantity| quantity.0.clone())
    }

    /// Whether the pod with this name exists and passes its readiness check.
    pub fn pod_ready(&self, pod_name: &str) -> bool {
        self.pods.iter().any(|pod| {
            pod.name_any() == pod_name
                && pod.metadata.deletion_timestamp.is_none()
                && pod
                    .status
                    .as_ref()
                    .and_then(|status| status.conditions.as_ref())
                    .is_some_and(|conditions| {
                        conditions.iter().any(|condition| {
                            condition.type_ == "Ready" && condition.status == "True"
                        })
                    })
        })
    }
}
