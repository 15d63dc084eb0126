//! Names, labels and the owner reference of one cluster's objects, derived from the CacheCluster.
//!
//! Every object name is a function of the cluster's name, so the operator finds its objects again
//! after a restart without storing anything.

use crate::api::CacheCluster;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;

/// Label key of the application name.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// Label key of the cluster (instance) name.
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Label key of the component.
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
/// Label key of the managing tool.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label on the headless Service only, so a ServiceMonitor scrapes each pod once.
pub const LABEL_SERVICE_ROLE: &str = "cache.ringcache.dev/service";
/// Value of [`LABEL_NAME`].
pub const APP_NAME: &str = "ringcache";
/// Value of [`LABEL_MANAGED_BY`], also the server-side-apply field manager.
pub const MANAGER: &str = "ringcache-operator";

/// Who a cluster's objects belong to and what they are called.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterIdentity {
    /// Name of the CacheCluster (and of its StatefulSet, client Service and PDB).
    pub name: String,
    /// Namespace of the CacheCluster and of everything it owns.
    pub namespace: String,
    /// Owner reference that ties every object to the CacheCluster (garbage collection).
    pub owner: OwnerReference,
}

impl ClusterIdentity {
    /// The identity of a CacheCluster read from the API (it has a namespace and a uid). `None` for
    /// an object that never came from the API server.
    pub fn of(cluster: &CacheCluster) -> Option<Self> {
        Some(ClusterIdentity {
            name: cluster.name_any(),
            namespace: cluster.namespace()?,
            owner: cluster.controller_owner_ref(&())?,
        })
    }

    /// StatefulSet name.
    pub fn statefulset_name(&self) -> String {
        self.name.clone()
    }

    /// Headless Service: stable DNS names of the members (`<pod>.<name>-nodes.<ns>.svc`).
    pub fn headless_service_name(&self) -> String {
        format!("{}-nodes", self.name)
    }

    /// Client Service name.
    pub fn client_service_name(&self) -> String {
        self.name.clone()
    }

    /// ConfigMap name.
    pub fn configmap_name(&self) -> String {
        format!("{}-config", self.name)
    }

    /// PodDisruptionBudget name.
    pub fn pdb_name(&self) -> String {
        self.name.clone()
    }

    /// ServiceAccount of the pods.
    pub fn service_account_name(&self) -> String {
        format!("{}-node", self.name)
    }

    /// ServiceMonitor name.
    pub fn service_monitor_name(&self) -> String {
        self.name.clone()
    }

    /// The Secret holding the cluster secret, mounted into every member.
    pub fn cluster_secret_name(&self) -> String {
        format!("{}-cluster-secret", self.name)
    }

    /// NetworkPolicy name.
    pub fn network_policy_name(&self) -> String {
        self.name.clone()
    }

    /// Pod name of a member.
    pub fn pod_name(&self, ordinal: i32) -> String {
        format!("{}-{ordinal}", self.statefulset_name())
    }

    /// Labels that select the cluster's pods. Never change them: a StatefulSet's selector is fixed.
    pub fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_NAME.to_owned(), APP_NAME.to_owned()),
            (LABEL_INSTANCE.to_owned(), self.name.clone()),
        ])
    }

    /// The pod selector as a string, as `status.selector` and the scale subresource carry it.
    pub fn selector_string(&self) -> String {
        self.selector_labels()
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The pod selector as a LabelSelector.
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: Some(self.selector_labels()),
            ..LabelSelector::default()
        }
    }

    /// Labels of every object the operator makes for this cluster.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels();
        labels.insert(LABEL_COMPONENT.to_owned(), component.to_owned());
        labels.insert(LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned());
        labels
    }

    /// Metadata of an owned object: name, namespace, labels and the owner reference.
    pub fn metadata(&self, name: String, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: Some(vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::cluster;

    #[test]
    fn names_derive_from_the_cluster_name() {
        let identity = ClusterIdentity::of(&cluster(3)).unwrap();
        assert_eq!(identity.statefulset_name(), "demo");
        assert_eq!(identity.headless_service_name(), "demo-nodes");
        assert_eq!(identity.configmap_name(), "demo-config");
        assert_eq!(identity.service_account_name(), "demo-node");
        assert_eq!(identity.cluster_secret_name(), "demo-cluster-secret");
        assert_eq!(identity.network_policy_name(), "demo");
        assert_eq!(identity.pod_name(2), "demo-2");
        assert_eq!(
            identity.selector_string(),
            "app.kubernetes.io/instance=demo,app.kubernetes.io/name=ringcache"
        );
        assert_eq!(identity.owner.kind, "CacheCluster");
        assert_eq!(identity.owner.controller, Some(true));
    }

    #[test]
    fn a_cluster_without_namespace_or_uid_has_no_identity() {
        let mut unnamespaced = cluster(3);
        unnamespaced.metadata.namespace = None;
        assert_eq!(ClusterIdentity::of(&unnamespaced), None);
        let mut no_uid = cluster(3);
        no_uid.metadata.uid = None;
        assert_eq!(ClusterIdentity::of(&no_uid), None);
    }
}
