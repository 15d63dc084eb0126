//! The PodDisruptionBudget: voluntary disruptions (drains) take at most `maxUnavailable` pods.

use super::DesiredCluster;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The PDB, or `None` when `spec.podDisruptionBudget.enabled` is false (the operator then deletes
/// the one it made).
pub fn build_pdb(desired: &DesiredCluster) -> Option<PodDisruptionBudget> {
    let options = &desired.cluster.spec.pod_disruption_budget;
    if !options.enabled {
        return None;
    }
    let identity = &desired.identity;
    Some(PodDisruptionBudget {
        metadata: identity.metadata(identity.pdb_name(), "cache-node"),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(options.max_unavailable)),
            selector: Some(identity.label_selector()),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn one_pod_at_a_time_by_default() {
        let pdb = build_pdb(&desired(cluster(3))).unwrap();
        let spec = pdb.spec.unwrap();
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(spec.min_available, None);
        assert_eq!(
            spec.selector.unwrap().match_labels.unwrap()["app.kubernetes.io/instance"],
            "demo"
        );
    }

    #[test]
    fn disabled_means_none() {
        let mut cluster = cluster(3);
        cluster.spec.pod_disruption_budget.enabled = false;
        assert_eq!(build_pdb(&desired(cluster)), None);
    }
}
