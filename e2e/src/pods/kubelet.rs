//! The runner as a kubelet only ([`super::PodRunnerMode::Kubelet`]), for a real control plane whose
//! kube-controller-manager creates and deletes the StatefulSets' pods itself:
//!
//! ```text
//!  every 500 ms:
//!    the Node object exists and is Ready
//!    pending pods without a node: bound to this node (pods/binding, as a scheduler would)
//!    pods on this node: process running, status reported (podIP, phase, Ready from /readyz)
//!    pods on this node being deleted: preStop hook, SIGTERM, SIGKILL after the grace period (in
//!      the background), then the object deleted with grace 0
//!    claims (PVCs) still Pending: a PersistentVolume made for each, as a local provisioner would;
//!      kube-controller-manager's PV binder binds the two
//!  processes whose pod is gone: stopped
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use super::running::run_pod;
use super::terminate::{self, StopReason};
use super::{PodKey, PodRunnerOptions, RunnerState, terminate_in_background};

/// One kubelet round (real control plane).
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
    for pod in &pods {
        let unbound = pod
            .spec
            .as_ref()
            .is_none_or(|spec| spec.node_name.is_none());
        if unbound && pod.metadata.deletion_timestamp.is_none() {
            let api: Api<Pod> =
                Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
            bind(&api, pod, node_name).await;
        }
    }
    run_pods(client, options, node_name, state, &statefulsets, &pods).await;
    provision_volumes(client, options).await
}

/// The kubelet's pod loop (both modes): the StatefulSet pods bound to `node_name` run and report
/// their status; those being deleted are stopped (preStop, SIGTERM, SIGKILL after their grace
/// period, in the background) and then deleted for good; processes whose pod is gone are stopped.
/// Returns whether each pod that runs is ready.
pub(super) async fn run_pods(
    client: &Client,
    options: &PodRunnerOptions,
    node_name: &str,
    state: &Arc<Mutex<RunnerState>>,
    statefulsets: &[StatefulSet],
    pods: &[Pod],
) -> HashMap<PodKey, bool> {
    let mut wanted: HashSet<PodKey> = HashSet::new();
    let mut running = Vec::new();
    for pod in pods {
        let namespace = pod.namespace().unwrap_or_default();
        let key = (namespace.clone(), pod.name_any());
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref());
        if node != Some(node_name) {
            continue;
        }
        if pod.metadata.deletion_timestamp.is_some() {
            terminate(client, pod, state);
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
            wanted.insert(key.clone());
            running.push(async move {
                let ready = run_pod(client, options, state, statefulset, pod).await;
                (key, ready)
            });
        }
    }
    // Every pod at once, as a kubelet probes its containers independently: a member that does not
    // answer its probe (stopped, overloaded) does not hold up the others' status.
    let readiness: HashMap<PodKey, bool> = futures::future::join_all(running)
        .await
        .into_iter()
        .collect();
    let orphans: Vec<PodKey> = state
        .lock()
        .processes
        .keys()
        .filter(|key| !wanted.contains(*key))
        .cloned()
        .collect();
    for key in orphans {
        terminate_in_background(state, key, None, StopReason::Orphaned, || async {});
    }
    readiness
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

/// A pod being deleted: its process gets the deletion's grace period to stop (preStop hook first),
/// in the background; then the object goes (only the kubelet deletes a scheduled pod for good).
fn terminate(client: &Client, pod: &Pod, state: &Arc<Mutex<RunnerState>>) {
    let namespace = pod.namespace().unwrap_or_default();
    let key = (namespace.clone(), pod.name_any());
    let address = state.lock().addresses.get(&key).cloned();
    let plan = address.map(|ip| terminate::stop_plan(pod, &ip));
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let name = pod.name_any();
    let uid = pod.uid();
    terminate_in_background(
        state,
        key,
        plan,
        StopReason::PodDeleted,
        move || async move {
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid,
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            if let Err(error) = api.delete(&name, &params).await {
                tracing::debug!(pod = name, %error, "final delete of a terminating pod");
            }
        },
    );
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
