//! Object life cycles on the API stand-in: finalizers and deletionTimestamp, owner-reference
//! garbage collection (background, foreground, orphan), namespace deletion, graceful pod deletion.

mod common;

use common::{api_status, eventually, fast, start_either};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;
use std::time::Duration;

// Long enough for kube-controller-manager's garbage collector and namespace controller when the
// tests run against the real control plane; the stand-in's collector acts within milliseconds.
const WAIT: Duration = Duration::from_secs(30);

fn config_map(name: &str, owners: &[&ConfigMap], finalizers: &[&str]) -> ConfigMap {
    let refs: Vec<serde_json::Value> = owners
        .iter()
        .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o.name_any(), "uid": o.uid().unwrap(),
            // Foreground deletion waits only for dependents that block it (the real collector's rule).
            "blockOwnerDeletion": true}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": refs, "finalizers": finalizers},
    }))
    .unwrap()
}

async fn gone(api: &Api<ConfigMap>, name: &str) {
    eventually(WAIT, &format!("{name} to be deleted"), || {
        let api = api.clone();
        let name = name.to_string();
        async move { api.get_opt(&name).await.unwrap().is_none().then_some(()) }
    })
    .await
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(
        &PostParams::default(),
        &config_map("f", &[], &["example.com/cleanup"]),
    )
    .await
    .unwrap();
    let deleting = api.delete("f", &DeleteParams::default()).await.unwrap();
    let pending = deleting.left().expect("deletion waits for the finalizer");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let still = api.get("f").await.unwrap();
    assert_eq!(still.finalizers(), ["example.com/cleanup"]);

    let added = api_status(
        api.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/cleanup", "example.com/more"]}}),
            ),
        )
        .await,
    );
    assert_eq!(added.code, 422, "no new finalizers on a deleting object");

    // Other updates still work while it waits; removing the last finalizer deletes it.
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("f").await.unwrap().is_none());

    // Without finalizers deletion is immediate and answers a Success status.
    api.create(&PostParams::default(), &config_map("g", &[], &[]))
        .await
        .unwrap();
    let done = api.delete("g", &DeleteParams::default()).await.unwrap();
    assert!(done.right().is_some_and(|s| s.is_success()));
    assert_eq!(
        api_status(api.delete("g", &DeleteParams::default()).await).code,
        404
    );
    server.shutdown().await;
}

#[tokio::test]
async fn owner_references_are_garbage_collected() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PostParams::default();
    let owner = api
        .create(&pp, &config_map("owner", &[], &[]))
        .await
        .unwrap();
    let other = api
        .create(&pp, &config_map("other", &[], &[]))
        .await
        .unwrap();
    api.create(&pp, &config_map("dep", &[&owner], &[]))
        .await
        .unwrap();
    api.create(&pp, &config_map("shared", &[&owner, &other], &[]))
        .await
        .unwrap();
    api.create(
        &pp,
        &config_map("grandchild", &[&api.get("dep").await.unwrap()], &[]),
    )
    .await
    .unwrap();

    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    gone(&api, "dep").await;
    gone(&api, "grandchild").await;
    // A dependent with a live owner stays, its dangling reference removed.
    let shared = eventually(WAIT, "the dangling reference to go", || {
        let api = api.clone();
        async move {
            let shared = api.get("shared").await.unwrap();
            (shared.owner_references().len() == 1).then_some(shared)
        }
    })
    .await;
    assert_eq!(shared.owner_references()[0].name, "other");
    server.shutdown().await;
}

#[tokio::test]
async fn foreground_and_orphan_propagation() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PostParams::default();

    // Foreground: the owner waits (finalizer foregroundDeletion) until its dependents are gone.
    let owner = api.create(&pp, &config_map("fg", &[], &[])).await.unwrap();
    api.create(&pp, &config_map("fg-dep", &[&owner], &["example.com/hold"]))
        .await
        .unwrap();
    let pending = api
        .delete("fg", &DeleteParams::foreground())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert!(
        pending
            .finalizers()
            .iter()
            .any(|f| f == "foregroundDeletion")
    );
    let dep = eventually(WAIT, "the dependent to be deleting", || {
        let api = api.clone();
        async move {
            api.get("fg-dep")
                .await
                .ok()
                .filter(|d| d.metadata.deletion_timestamp.is_some())
        }
    })
    .await;
    assert!(dep.metadata.deletion_timestamp.is_some());
    assert!(
        api.get_opt("fg").await.unwrap().is_some(),
        "owner waits for the dependent"
    );
    api.patch(
        "fg-dep",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    gone(&api, "fg").await;

    // Orphan: the dependents stay, without the reference.
    let owner = api.create(&pp, &config_map("or", &[], &[])).await.unwrap();
    api.create(&pp, &config_map("or-dep", &[&owner], &[]))
        .await
        .unwrap();
    let orphaning = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    api.delete("or", &orphaning).await.unwrap();
    gone(&api, "or").await;
    let orphan = api.get("or-dep").await.unwrap();
    assert!(orphan.owner_references().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn namespace_deletion_empties_it_first() {
    let (server, client) = start_either(fast()).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap();
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    api.create(
        &PostParams::default(),
        &config_map("held", &[], &["example.com/hold"]),
    )
    .await
    .unwrap();

    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = namespaces.get("doomed").await.unwrap();
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    let refused = api_status(
        api.create(&PostParams::default(), &config_map("new", &[], &[]))
            .await,
    );
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("being terminated"),
        "{}",
        refused.message
    );

    eventually(WAIT, "the content to be deleting", || {
        let api = api.clone();
        async move {
            api.get("held")
                .await
                .ok()
                .filter(|c| c.metadata.deletion_timestamp.is_some())
        }
    })
    .await;
    assert!(
        namespaces.get_opt("doomed").await.unwrap().is_some(),
        "waits for its content"
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually(WAIT, "the namespace to go", || {
        let namespaces = namespaces.clone();
        async move {
            namespaces
                .get_opt("doomed")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn scheduled_pods_wait_for_their_kubelet() {
    let (server, client) = start_either(fast()).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = |name: &str, node: Option<&str>| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "example/c:1"}]}
        }))
        .unwrap()
    };
    let created = pods
        .create(&PostParams::default(), &pod("unscheduled", None))
        .await
        .unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));
    pods.delete("unscheduled", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        pods.get_opt("unscheduled").await.unwrap().is_none(),
        "no kubelet to wait for"
    );

    pods.create(&PostParams::default(), &pod("running", Some("node-1")))
        .await
        .unwrap();
    let pending = pods
        .delete("running", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(pending.metadata.deletion_grace_period_seconds, Some(30));
    assert!(pods.get_opt("running").await.unwrap().is_some());
    // The kubelet (the pod runner) confirms with a zero grace period.
    pods.delete(
        "running",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();
    assert!(pods.get_opt("running").await.unwrap().is_none());
    server.shutdown().await;
}
