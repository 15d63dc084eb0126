//! The runner as a kubelet only ([`super::PodRunnerMode::Kubelet`]), for a real control plane whose
//! kube-controller-manager creates and deletes the StatefulSets' pods itself:
//!
//! ```text
//!  every 500 ms:
//!    the Node object exists and is Ready
//!    pending pods without a node: bound to this node (pods/binding, as a scheduler would)
//!    pods on this node: process running, status reported (podIP, phase, Ready from /readyz)
//!    pods on this node being deleted: process stopped, then the object deleted with grace 0
//!    claims (PVCs) still Pending: a PersistentVolume made for each, as a local provisioner would;
//!      kube-controller-manager's PV binder binds the two
//!  processes whose pod is gone: stopped
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use super::{PodRunnerOptions, RunnerState, run_pod};

/// One kubelet round.
pub(super) async fn reconcile(
    client: &Client,
    options: &PodRunnerOptions,
    node_name: &str,
    state: &Arc<Mutex<RunnerState>>,
) -> Result<(), kube::Error> {
    ensure_node(client, node_name).await?;
    let statefulsets = Api::<StatefulSet>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let mut wanted: HashSet<(String, String)> = HashSet::new();
    for pod in &pods {
        let namespace = pod.namespace().unwrap_or_default();
        let key = (namespace.clone(), pod.name_any());
        let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref());
        match node {
            None if pod.metadata.deletion_timestamp.is_none() => bind(&api, pod, node_name).await,
            Some(node) if node == node_name => {
                if pod.metadata.deletion_timestamp.is_some() {
                    terminate(&api, pod, state).await;
                    continue;
                }
                let owner = statefulsets.iter().find(|statefulset| {
                    statefulset.namespace().as_deref() == Some(namespace.as_str())
                        && pod.owner_references().iter().any(|owner| {
                            owner.controller == Some(true)
                                && Some(&owner.uid) == statefulset.metadata.uid.as_ref()
                        })
                });
                // Only StatefulSet pods are ringcache-node pods; anything else stays Pending.
                if let Some(statefulset) = owner {
                    wanted.insert(key);
                    run_pod(client, options, state, statefulset, pod).await;
                }
            }
            _ => {}
        }
    }
    let orphans: Vec<_> = {
        let mut state = state.lock();
        let gone: Vec<_> = state
            .processes
            .keys()
            .filter(|key| !wanted.contains(*key))
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|key| state.processes.remove(&key))
            .collect()
    };
    for process in orphans {
        process.stop(Duration::from_secs(10)).await;
    }
    provision_volumes(client, options).await
}

/// Creates (once) the Node the pods are bound to, and reports it Ready.
async fn ensure_node(client: &Client, node_name: &str) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    if nodes.get_opt(node_name).await?.is_none() {
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node_name, "labels": {
                "kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux"}},
        }))
        .expect("a valid Node");
        nodes.create(&PostParams::default(), &node).await?;
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let status = json!({"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "ringcache pod runner", "lastHeartbeatTime": now,
                "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": node_name}],
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
        }});
        nodes
            .patch_status(node_name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
    }
    Ok(())
}

/// Binds a pending pod to this node through the binding subresource, as kube-scheduler does.
async fn bind(api: &Api<Pod>, pod: &Pod, node_name: &str) {
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": pod.name_any(), "uid": pod.uid()},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
    });
    let bound: Result<serde_json::Value, _> = api
        .create_subresource("binding", &pod.name_any(), &PostParams::default(), &binding)
        .await;
    if let Err(error) = bound {
        tracing::warn!(pod = pod.name_any(), %error, "cannot bind pod");
    }
}

/// A pod being deleted: its process gets its grace period to stop, then the object goes (only the
/// kubelet deletes a scheduled pod for good).
async fn terminate(api: &Api<Pod>, pod: &Pod, state: &Arc<Mutex<RunnerState>>) {
    let key = (pod.namespace().unwrap_or_default(), pod.name_any());
    let process = state.lock().processes.remove(&key);
    if let Some(process) = process {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
        process
            .stop(Duration::from_secs(grace.clamp(0, 60) as u64))
            .await;
    }
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    if let Err(error) = api.delete(&pod.name_any(), &params).await {
        tracing::debug!(pod = pod.name_any(), %error, "final delete of a terminating pod");
    }
}

/// A PersistentVolume for each Pending claim without a volume: a directory under the state
/// directory (the node process's data directory is chosen per pod by the runner; the volume is the
/// API's record that the claim is satisfied, as a local-path provisioner would make it).
async fn provision_volumes(client: &Client, options: &PodRunnerOptions) -> Result<(), kube::Error> {
    let claims = Api::<PersistentVolumeClaim>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    for claim in claims {
        let pending = claim
            .status
            .as_ref()
            .and_then(|status| status.phase.as_deref())
            .is_none_or(|phase| phase == "Pending");
        let unbound = claim
            .spec
            .as_ref()
            .is_none_or(|spec| spec.volume_name.is_none());
        if !pending || !unbound || claim.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(uid) = claim.uid() else { continue };
        let name = format!("pvc-{uid}");
        if volumes.get_opt(&name).await?.is_some() {
            continue;
        }
        let namespace = claim.namespace().unwrap_or_default();
        let spec = claim.spec.clone().unwrap_or_default();
        let size = spec
            .resources
            .as_ref()
            .and_then(|resources| resources.requests.as_ref())
            .and_then(|requests| requests.get("storage"))
            .map_or_else(|| "1Gi".to_owned(), |quantity| quantity.0.clone());
        let path = options
            .state_dir
            .join("pv")
            .join(&namespace)
            .join(claim.name_any());
        let volume: PersistentVolume = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.access_modes.clone().unwrap_or_else(|| vec!["ReadWriteOnce".to_owned()]),
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": spec.storage_class_name.clone().unwrap_or_default(),
                "hostPath": {"path": path.display().to_string(), "type": "DirectoryOrCreate"},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": namespace, "name": claim.name_any(), "uid": uid},
            },
        }))
        .expect("a valid PersistentVolume");
        if let Err(error) = volumes.create(&PostParams::default(), &volume).await {
            tracing::warn!(claim = claim.name_any(), %error, "cannot provision a volume");
        }
    }
    Ok(())
}
