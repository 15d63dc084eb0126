//! The Kubernetes permissions `ringcache-operator run` uses: one row per API group and resource, with
//! the code path that needs it. The Helm chart grants exactly these (`ringcache-operator.watchRules`
//! in `charts/ringcache-operator/templates/_helpers.tpl`, and the leader-election Role);
//! `operator/tests/chart_rbac.rs` renders the chart and fails when a row is not granted or when
//! anything else is. A new API call in the operator needs a row here and a rule in the chart.
//!
//! Two rules of the API server shape the table:
//! - A server-side apply that creates its object is authorized as `create` as well as `patch`
//!   (the apiserver's patch handler checks `create` before an apply creates), so every applied kind
//!   has both.
//! - Owner references are written without `blockOwnerDeletion`, so no `cacheclusters/finalizers`
//!   `update` is needed. Setting it would need that permission where the
//!   `OwnerReferencesPermissionEnforcement` admission plugin runs.
//!
//! There is no `pods/exec` and no wildcard, and the operator reads no Secret: no `get`, `list` or
//! `watch` on `secrets`. It creates and patches exactly one Secret per CacheCluster,
//! `<name>-cluster-secret`, whose value it derives from its own key (`run --cluster-key-file`, mounted
//! from the chart's Secret by the kubelet) and the cluster's identity, so it never needs to read one
//! back, after a restart or as a second replica; nor does it watch or cache any. The user's auth
//! Secret (`spec.auth`) is mounted into the pods by the kubelet, not read by the operator either.
//!
//! What remains, and is accepted: RBAC cannot limit `create` or `patch` by a name pattern, so a
//! stolen operator token could still overwrite any Secret of a watched namespace, and a patch's
//! answer carries the patched object. The operator's code only ever applies its own
//! `<name>-cluster-secret`.

/// Where a permission is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every namespace whose CacheClusters the operator reconciles: a ClusterRole when `run` has no
    /// `--namespace`, otherwise a Role in that namespace.
    Watched,
    /// Only the namespace of the leader-election Lease (`--lease-namespace`), and only when leader
    /// election is on. `get` and `update` may be limited to the Lease's name.
    LeaseNamespace,
}

/// One API resource and the verbs used on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Resource, with `/subresource` where one is used.
    pub resource: &'static str,
    /// RBAC verbs.
    pub verbs: &'static [&'static str],
    /// Where.
    pub scope: Scope,
}

/// `controller.rs`: `Controller::new` watches CacheClusters (a list, then a watch), which triggers
/// reconciles; `reconcile/observe.rs` then `get`s the object itself, because the watch cache may not
/// hold the status the previous reconcile wrote a moment ago, and rebalance progress is counted from
/// it.
pub const CACHECLUSTERS: Permission = Permission {
    group: "cache.ringcache.dev",
    resource: "cacheclusters",
    verbs: &["get", "list", "watch"],
    scope: Scope::Watched,
};

/// `reconcile/mod.rs` (status phase): `patch_status` with a server-side apply of `/status`. The
/// status subresource of an existing object is never created, so no `create`.
pub const CACHECLUSTERS_STATUS: Permission = Permission {
    group: "cache.ringcache.dev",
    resource: "cacheclusters/status",
    verbs: &["patch"],
    scope: Scope::Watched,
};

/// `reconcile/observe.rs`: `get` of the cluster's StatefulSet; `controller.rs`: `.owns()` watches
/// StatefulSets (list, watch); `reconcile/apply.rs`: server-side apply (create, patch).
pub const STATEFULSETS: Permission = Permission {
    group: "apps",
    resource: "statefulsets",
    verbs: &["get", "list", "watch", "create", "patch"],
    scope: Scope::Watched,
};

/// `controller.rs`: `.owns()` watches Services (list, watch); `reconcile/apply.rs`: server-side
/// apply of the headless and the client Service (create, patch).
pub const SERVICES: Permission = Permission {
    group: "",
    resource: "services",
    verbs: &["list", "watch", "create", "patch"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the ring ConfigMap `<name>-config`.
pub const CONFIGMAPS: Permission = Permission {
    group: "",
    resource: "configmaps",
    verbs: &["create", "patch"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the nodes' ServiceAccount `<name>-node`.
pub const SERVICEACCOUNTS: Permission = Permission {
    group: "",
    resource: "serviceaccounts",
    verbs: &["create", "patch"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the cluster's Secret `<name>-cluster-secret` (the
/// secret derived from the operator key). Never get, list or watch: the operator computes the value,
/// it does not read it (see the header).
pub const SECRETS: Permission = Permission {
    group: "",
    resource: "secrets",
    verbs: &["create", "patch"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the NetworkPolicy `<name>`, and `delete` when
/// `spec.networkPolicy.enabled` is false (sent on every such reconcile; 404 is fine).
pub const NETWORKPOLICIES: Permission = Permission {
    group: "networking.k8s.io",
    resource: "networkpolicies",
    verbs: &["create", "patch", "delete"],
    scope: Scope::Watched,
};

/// `reconcile/observe.rs`: `list` of the cluster's pods by label selector (readiness of members).
pub const PODS: Permission = Permission {
    group: "",
    resource: "pods",
    verbs: &["list"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the PodDisruptionBudget, and `delete` when
/// `spec.podDisruptionBudget.enabled` is false.
pub const PODDISRUPTIONBUDGETS: Permission = Permission {
    group: "policy",
    resource: "poddisruptionbudgets",
    verbs: &["create", "patch", "delete"],
    scope: Scope::Watched,
};

/// `reconcile/apply.rs`: server-side apply of the ServiceMonitor, and `delete` when
/// `spec.monitoring.serviceMonitor.enabled` is false (sent on every such reconcile; 404 is fine).
pub const SERVICEMONITORS: Permission = Permission {
    group: "monitoring.coreos.com",
    resource: "servicemonitors",
    verbs: &["create", "patch", "delete"],
    scope: Scope::Watched,
};

/// `events.rs`: kube's `Recorder` creates an `events.k8s.io/v1` Event in the CacheCluster's
/// namespace, and patches it (series count) when the same Event repeats.
pub const EVENTS: Permission = Permission {
    group: "events.k8s.io",
    resource: "events",
    verbs: &["create", "patch"],
    scope: Scope::Watched,
};

/// `leader/elector.rs`: `get_opt` of the Lease, `create` when absent, `replace` (update) to renew or
/// take it over with the resourceVersion that was read.
pub const LEASES: Permission = Permission {
    group: "coordination.k8s.io",
    resource: "leases",
    verbs: &["get", "create", "update"],
    scope: Scope::LeaseNamespace,
};

/// Every permission the operator uses.
pub const PERMISSIONS: &[Permission] = &[
    CACHECLUSTERS,
    CACHECLUSTERS_STATUS,
    STATEFULSETS,
    SERVICES,
    CONFIGMAPS,
    SERVICEACCOUNTS,
    SECRETS,
    NETWORKPOLICIES,
    PODS,
    PODDISRUPTIONBUDGETS,
    SERVICEMONITORS,
    EVENTS,
    LEASES,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const RBAC_VERBS: &[&str] = &[
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];

    #[test]
    fn one_row_per_resource_and_only_plain_verbs() {
        let mut seen = BTreeSet::new();
        for permission in PERMISSIONS {
            assert!(
                seen.insert((permission.group, permission.resource)),
                "{permission:?} appears twice"
            );
            assert!(!permission.verbs.is_empty(), "{permission:?} has no verb");
            let verbs: BTreeSet<_> = permission.verbs.iter().collect();
            assert_eq!(verbs.len(), permission.verbs.len(), "{permission:?}");
            for verb in permission.verbs {
                assert!(RBAC_VERBS.contains(verb), "{permission:?}: verb {verb}");
            }
            assert!(!permission.resource.contains('*') && permission.group != "*");
            assert_ne!(permission.resource, "pods/exec");
        }
    }

    #[test]
    fn secrets_are_written_never_read() {
        let secrets: Vec<&Permission> = PERMISSIONS
            .iter()
            .filter(|permission| permission.group.is_empty() && permission.resource == "secrets")
            .collect();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].verbs, ["create", "patch"]);
    }

    #[test]
    fn every_applied_kind_can_be_created() {
        // Every whole-object patch here is a server-side apply (Events' merge patch follows their
        // create), and an apply that creates is also authorized as create.
        for permission in PERMISSIONS {
            if permission.verbs.contains(&"patch") && !permission.resource.contains('/') {
                assert!(
                    permission.verbs.contains(&"create"),
                    "{permission:?} is applied but not creatable"
                );
            }
        }
    }
}
