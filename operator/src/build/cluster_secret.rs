//! The Secret `<name>-cluster-secret`: the cluster secret the members authenticate each other and
//! the operator with, mounted into every pod at [`super::CLUSTER_SECRET_DIR`].
//!
//! The value is derived from the operator key ([`crate::key`]), so the operator writes this Secret
//! (server-side apply: create and patch) but never reads it, nor any other Secret. Applying it on
//! every reconcile also puts back a value changed by hand; the members read theirs when they start.

use super::{CLUSTER_SECRET_KEY, DesiredCluster};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// The cluster's Secret (type Opaque, key [`CLUSTER_SECRET_KEY`]).
pub fn build_cluster_secret(desired: &DesiredCluster) -> Secret {
    let identity = &desired.identity;
    Secret {
        metadata: identity.metadata(identity.cluster_secret_name(), "cache-node"),
        type_: Some("Opaque".to_owned()),
        // `data`, not `stringData`: the API server turns stringData into data, and a server-side
        // apply of a field it never stores would count as a change on every reconcile.
        data: Some(BTreeMap::from([(
            CLUSTER_SECRET_KEY.to_owned(),
            ByteString(desired.cluster_secret.expose().as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn named_owned_and_holding_the_derived_secret() {
        let state = desired(cluster(3));
        let secret = build_cluster_secret(&state);
        assert_eq!(secret.metadata.name.as_deref(), Some("demo-cluster-secret"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("cache"));
        let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("CacheCluster", "demo")
        );
        assert_eq!(
            secret.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
            "ringcache-operator"
        );
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        let data = secret.data.as_ref().unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(
            data["secret"].0,
            state.cluster_secret.expose().as_bytes(),
            "the value is the derived secret, 64 hex digits"
        );
        assert_eq!(data["secret"].0.len(), 64);
        assert!(secret.string_data.is_none());
    }

    #[test]
    fn serialized_for_the_api() {
        let value = serde_json::to_value(build_cluster_secret(&desired(cluster(3)))).unwrap();
        assert_eq!(value["apiVersion"], "v1");
        assert_eq!(value["kind"], "Secret");
        assert!(value["data"]["secret"].is_string(), "base64 in JSON");
    }
}
