//! The apply phase: server-side apply of every built object with one field manager
//! (`ringcache-operator`, forced), each owned by the CacheCluster; deletion of the optional objects
//! that were turned off (PodDisruptionBudget, NetworkPolicy, ServiceMonitor).

use crate::build::identity::MANAGER;
use crate::build::service_monitor::{build_service_monitor, service_monitor_resource};
use crate::build::{
    DesiredCluster, cluster_secret::build_cluster_secret, configmap::build_configmap,
    network_policy::build_network_policy, pdb::build_pdb, service_account::build_service_account,
    services::build_client_service, services::build_headless_service,
    statefulset::build_statefulset,
};
use crate::error::{ReconcileError, api_status_code};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Something apply skipped that the cluster's status should mention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyWarning {
    /// `spec.monitoring.serviceMonitor.enabled` is set but the `ServiceMonitor` CRD is not installed.
    ServiceMonitorCrdMissing,
}

impl ApplyWarning {
    /// Reason of the `Degraded` condition and of the Event.
    pub fn reason(self) -> &'static str {
        match self {
            ApplyWarning::ServiceMonitorCrdMissing => "ServiceMonitorCRDMissing",
        }
    }

    /// Message of the `Degraded` condition and of the Event.
    pub fn message(self) -> String {
        match self {
            ApplyWarning::ServiceMonitorCrdMissing => "spec.monitoring.serviceMonitor.enabled is set but the API server has no monitoring.coreos.com/v1 ServiceMonitor (install the Prometheus operator's CRDs)".to_owned(),
        }
    }
}

/// The server-side-apply parameters of every write: one field manager, forced.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

async fn apply<K>(
    api: &Api<K>,
    kind: &'static str,
    namespace: &str,
    object: &K,
) -> Result<(), ReconcileError>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let mut result = api
        .patch(&name, &apply_params(), &Patch::Apply(object))
        .await;
    // A forced apply has no field-manager conflicts; a 409 means another writer raced us on the
    // object's storage. Retry once at once; after that the controller retries with backoff.
    if result.as_ref().err().and_then(api_status_code) == Some(409) {
        tracing::debug!(kind, %name, "apply conflicted; retrying once");
        result = api
            .patch(&name, &apply_params(), &Patch::Apply(object))
            .await;
    }
    result.map(drop).map_err(|source| ReconcileError::Apply {
        kind,
        namespace: namespace.to_owned(),
        name,
        source,
    })
}

async fn delete_if_present<K>(
    api: &Api<K>,
    kind: &'static str,
    namespace: &str,
    name: &str,
) -> Result<(), ReconcileError>
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(error) if api_status_code(&error) == Some(404) => Ok(()),
        Err(source) => Err(ReconcileError::Apply {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        }),
    }
}

/// Applies every object of `desired`, in dependency order: ServiceAccount, the cluster's Secret,
/// ConfigMap, headless Service, client Service, NetworkPolicy, StatefulSet, PodDisruptionBudget,
/// ServiceMonitor. The Secret and the NetworkPolicy come before the StatefulSet, so that no pod
/// starts without its secret or unprotected.
pub async fn apply_all(
    client: &Client,
    desired: &DesiredCluster,
) -> Result<Vec<ApplyWarning>, ReconcileError> {
    let namespace = desired.identity.namespace.as_str();
    let mut warnings = Vec::new();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    apply(
        &accounts,
        "ServiceAccount",
        namespace,
        &build_service_account(desired),
    )
    .await?;
    // Written, never read: the operator has no get/list/watch on Secrets (see rbac.rs).
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    apply(
        &secrets,
        "Secret",
        namespace,
        &build_cluster_secret(desired),
    )
    .await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    apply(
        &configmaps,
        "ConfigMap",
        namespace,
        &build_configmap(desired),
    )
    .await?;
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    apply(
        &services,
        "Service",
        namespace,
        &build_headless_service(desired),
    )
    .await?;
    apply(
        &services,
        "Service",
        namespace,
        &build_client_service(desired),
    )
    .await?;
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    match build_network_policy(desired) {
        Some(policy) => apply(&policies, "NetworkPolicy", namespace, &policy).await?,
        None => {
            delete_if_present(
                &policies,
                "NetworkPolicy",
                namespace,
                &desired.identity.network_policy_name(),
            )
            .await?
        }
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    apply(
        &statefulsets,
        "StatefulSet",
        namespace,
        &build_statefulset(desired),
    )
    .await?;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), namespace);
    match build_pdb(desired) {
        Some(pdb) => apply(&budgets, "PodDisruptionBudget", namespace, &pdb).await?,
        None => {
            delete_if_present(
                &budgets,
                "PodDisruptionBudget",
                namespace,
                &desired.identity.pdb_name(),
            )
            .await?
        }
    }
    let monitors: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &service_monitor_resource());
    match build_service_monitor(desired) {
        Some(monitor) => {
            let name = desired.identity.service_monitor_name();
            match monitors
                .patch(&name, &apply_params(), &Patch::Apply(&monitor))
                .await
            {
                Ok(_) => {}
                // 404 on an apply means the resource type itself does not exist.
                Err(error) if api_status_code(&error) == Some(404) => {
                    warnings.push(ApplyWarning::ServiceMonitorCrdMissing)
                }
                Err(source) => {
                    return Err(ReconcileError::Apply {
                        kind: "ServiceMonitor",
                        namespace: namespace.to_owned(),
                        name,
                        source,
                    });
                }
            }
        }
        None => {
            delete_if_present(
                &monitors,
                "ServiceMonitor",
                namespace,
                &desired.identity.service_monitor_name(),
            )
            .await?
        }
    }
    Ok(warnings)
}
