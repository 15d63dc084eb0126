//! The StatefulSet controller the runner plays against the stand-in (which has no controllers):
//! pods created from the template's revision, scale-in highest ordinal first, the rolling update of
//! a changed template (decisions in `rollout.rs`), and the StatefulSet's status. Pods are bound to
//! [`super::STANDIN_NODE`] and deleted through the API like any controller deletes them
//! (gracefully); the runner's kubelet part (`kubelet::run_pods`) stops their processes.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use super::rollout::{self, PodView};
use super::{
    PodKey, PodRunnerOptions, RunnerState, STANDIN_NODE, is_terminating, kubelet, running, spec,
};

/// One round: the kubelet's pods first (their readiness is what the controller decides on), then
/// every StatefulSet.
pub(super) async fn reconcile(
    client: &Client,
    options: &PodRunnerOptions,
    state: &Arc<Mutex<RunnerState>>,
) -> Result<(), kube::Error> {
    let statefulsets = Api::<StatefulSet>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let readiness =
        kubelet::run_pods(client, options, STANDIN_NODE, state, &statefulsets, &pods).await;
    delete_scaled_in_volumes(state, &pods);
    for statefulset in &statefulsets {
        if statefulset.metadata.deletion_timestamp.is_none() {
            control(client, options, state, statefulset, &pods, &readiness).await;
        }
    }
    Ok(())
}

/// Volumes of scaled-in ordinals whose pod is gone: deleted (`whenScaled: Delete`), so a returning
/// ordinal starts empty (and with a new Raft identity).
fn delete_scaled_in_volumes(state: &Arc<Mutex<RunnerState>>, pods: &[Pod]) {
    let mut state = state.lock();
    let gone: Vec<PodKey> = state
        .volumes_to_delete
        .keys()
        .filter(|key| !state.terminating.contains_key(*key))
        .filter(|(namespace, name)| {
            !pods.iter().any(|pod| {
                pod.namespace().as_deref() == Some(namespace.as_str()) && &pod.name_any() == name
            })
        })
        .cloned()
        .collect();
    for key in gone {
        if let Some(volume) = state.volumes_to_delete.remove(&key)
            && let Err(error) = std::fs::remove_dir_all(&volume)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(volume = %volume.display(), %error, "cannot delete a scaled-in volume");
        }
    }
}

/// The StatefulSet controller for one StatefulSet.
async fn control(
    client: &Client,
    options: &PodRunnerOptions,
    state: &Arc<Mutex<RunnerState>>,
    statefulset: &StatefulSet,
    pods: &[Pod],
    readiness: &HashMap<PodKey, bool>,
) {
    let namespace = statefulset.namespace().unwrap_or_default();
    let owned: Vec<&Pod> = pods
        .iter()
        .filter(|pod| {
            pod.namespace().as_deref() == Some(namespace.as_str())
                && pod
                    .owner_references()
                    .iter()
                    .any(|owner| Some(&owner.uid) == statefulset.metadata.uid.as_ref())
        })
        .collect();
    let replicas = statefulset.spec.replicas.unwrap_or(1);
    let strategy = rollout::update_strategy(statefulset);
    let update_revision = rollout::revision_name(statefulset);
    let current_revision = {
        let mut state = state.lock();
        state.revisions.insert(
            (namespace.clone(), update_revision.clone()),
            statefulset.spec.template.clone(),
        );
        statefulset
            .status
            .as_ref()
            .and_then(|status| status.current_revision.clone())
            .filter(|revision| {
                state
                    .revisions
                    .contains_key(&(namespace.clone(), revision.clone()))
            })
            .unwrap_or_else(|| update_revision.clone())
    };
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let by_ordinal: HashMap<i32, &Pod> = owned
        .iter()
        .filter_map(|pod| Some((spec::ordinal_of(statefulset, pod)?, *pod)))
        .collect();

    // Missing pods, from the revision their ordinal gets.
    for ordinal in 0..replicas {
        let name = spec::pod_name(statefulset, ordinal);
        if by_ordinal.contains_key(&ordinal) || is_terminating(state, &(namespace.clone(), name)) {
            continue;
        }
        let revision =
            rollout::revision_for(ordinal, strategy, &current_revision, &update_revision);
        let template = state
            .lock()
            .revisions
            .get(&(namespace.clone(), revision.clone()))
            .cloned()
            .unwrap_or_else(|| statefulset.spec.template.clone());
        match spec::pod_object(statefulset, &template, ordinal, &revision, STANDIN_NODE) {
            Ok(pod) => {
                if let Err(error) = pods_api.create(&PostParams::default(), &pod).await {
                    tracing::warn!(pod = pod.name_any(), %error, "cannot create pod");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot build pod"),
        }
    }

    // Scale-in: the highest ordinal first, one at a time.
    let condemned: Vec<(i32, &Pod)> = by_ordinal
        .iter()
        .filter(|(ordinal, _)| **ordinal >= replicas)
        .map(|(ordinal, pod)| (*ordinal, *pod))
        .collect();
    let condemned_terminating = condemned
        .iter()
        .any(|(_, pod)| pod.metadata.deletion_timestamp.is_some());
    if !condemned_terminating
        && let Some((_, pod)) = condemned.iter().max_by_key(|(ordinal, _)| *ordinal)
    {
        tracing::info!(pod = pod.name_any(), "scale-in: deleting pod");
        delete_pod(&pods_api, pod).await;
        // `whenScaled: Delete`: the claim goes with the scaled-in ordinal, once its pod is gone.
        let delete_volume = statefulset
            .spec
            .persistent_volume_claim_retention_policy
            .as_ref()
            .and_then(|policy| policy.when_scaled.as_deref())
            == Some("Delete");
        if delete_volume {
            let volume = running::data_dir(&options.state_dir, &namespace, &pod.name_any());
            state
                .lock()
                .volumes_to_delete
                .insert((namespace.clone(), pod.name_any()), volume);
        }
    }

    // The rolling update.
    let view = |ordinal: i32| -> Option<PodView> {
        let pod = by_ordinal.get(&ordinal)?;
        let key = (namespace.clone(), pod.name_any());
        let terminating = pod.metadata.deletion_timestamp.is_some() || is_terminating(state, &key);
        Some(PodView {
            revision: spec::pod_revision(pod),
            terminating,
            available: !terminating && readiness.get(&key) == Some(&true),
        })
    };
    let views: Vec<Option<PodView>> = (0..replicas).map(view).collect();
    for ordinal in rollout::pods_to_replace(&views, &update_revision, strategy) {
        if let Some(pod) = by_ordinal.get(&ordinal) {
            tracing::info!(
                pod = pod.name_any(),
                from = ?spec::pod_revision(pod),
                to = update_revision,
                "rolling update: replacing pod"
            );
            delete_pod(&pods_api, pod).await;
        }
    }

    let present: Vec<&PodView> = views.iter().flatten().collect();
    let counts = rollout::revision_status(&present, replicas, &current_revision, &update_revision);
    let status = json!({
        "status": {
            "observedGeneration": statefulset.metadata.generation,
            "replicas": counts.replicas,
            "readyReplicas": counts.ready_replicas,
            "availableReplicas": counts.ready_replicas,
            "currentReplicas": counts.current_replicas,
            "updatedReplicas": counts.updated_replicas,
            "currentRevision": counts.current_revision,
            "updateRevision": counts.update_revision,
        }
    });
    let _ = Api::<StatefulSet>::namespaced(client.clone(), &namespace)
        .patch_status(
            &statefulset.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await;
}

/// Deletes a pod as the StatefulSet controller does: gracefully (the kubelet part stops it), and
/// only the pod that was looked at (uid precondition).
async fn delete_pod(api: &Api<Pod>, pod: &Pod) {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    if let Err(error) = api.delete(&pod.name_any(), &params).await {
        tracing::warn!(pod = pod.name_any(), %error, "cannot delete pod");
    }
}
