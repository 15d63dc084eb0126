//! The ServiceAccount of the cache pods: their own identity, with no API token mounted (the nodes
//! never call the Kubernetes API).

use super::DesiredCluster;
use k8s_openapi::api::core::v1::ServiceAccount;

/// The pods' ServiceAccount.
pub fn build_service_account(desired: &DesiredCluster) -> ServiceAccount {
    let identity = &desired.identity;
    ServiceAccount {
        metadata: identity.metadata(identity.service_account_name(), "cache-node"),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn owned_named_and_without_token() {
        let account = build_service_account(&desired(cluster(3)));
        assert_eq!(account.metadata.name.as_deref(), Some("demo-node"));
        assert_eq!(account.metadata.namespace.as_deref(), Some("cache"));
        assert_eq!(account.metadata.owner_references.unwrap()[0].name, "demo");
        assert_eq!(account.automount_service_account_token, Some(false));
    }
}
