//! Custom resources on the API stand-in: the CacheCluster CRD from `crds/` becomes served when it is
//! created, with its status and scale subresources, schema defaulting and pruning, discovery, and it
//! stops being served (its objects removed) when the CRD is deleted.

mod common;

use common::{
    api_status, cache_cluster_crd, cache_clusters, eventually, fast, install_crd, start,
    start_either,
};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use serde_json::json;
use std::time::Duration;

fn demo(name: &str, replicas: i64) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "cache.ringcache.dev/v1alpha1",
        "kind": "CacheCluster",
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
        "status": {"replicas": 42}
    }))
    .unwrap()
}

#[tokio::test]
async fn cache_cluster_crd_serves_status_and_scale() {
    let (server, client) = start_either(fast()).await;
    let before = api_status(
        cache_clusters(&client, "default")
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(before.code, 404, "not served before the CRD exists");
    install_crd(&client).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get("cacheclusters.cache.ringcache.dev").await.unwrap();
    let conditions = crd.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );

    let api = cache_clusters(&client, "default");
    let created = api
        .create(&PostParams::default(), &demo("demo", 3))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data.get("status").is_none(),
        "status is ignored on create"
    );
    // Schema defaults are filled in, as the real server does.
    assert_eq!(created.data["spec"]["replicationFactor"], json!(3));
    assert_eq!(created.data["spec"]["partitions"], json!(64));

    let pp = PatchParams::default();
    let status = api
        .patch_status(
            "demo",
            &pp,
            &Patch::Merge(json!({"status": {"replicas": 3, "readyReplicas": 3, "selector": "app.kubernetes.io/instance=demo"}, "spec": {"replicas": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(status.data["status"]["readyReplicas"], json!(3));
    assert_eq!(
        status.data["spec"]["replicas"],
        json!(3),
        "status writes ignore spec"
    );
    assert_eq!(status.metadata.generation, Some(1));

    let scale = api.get_scale("demo").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(3));
    let scale_status = scale.status.as_ref().unwrap();
    assert_eq!(scale_status.replicas, 3);
    assert_eq!(
        scale_status.selector.as_deref(),
        Some("app.kubernetes.io/instance=demo")
    );

    let scaled = api
        .patch_scale("demo", &pp, &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(5));
    let after = api.get("demo").await.unwrap();
    assert_eq!(after.data["spec"]["replicas"], json!(5));
    assert_eq!(
        after.metadata.generation,
        Some(2),
        "scaling is a spec change"
    );
    assert_eq!(after.data["status"]["readyReplicas"], json!(3));

    // Replacing the Scale with a stale resourceVersion conflicts.
    let stale: Scale = scale;
    let conflict = api_status(
        api.replace_scale("demo", &PostParams::default(), &stale)
            .await,
    );
    assert_eq!(conflict.code, 409);
    let mut fresh = api.get_scale("demo").await.unwrap();
    fresh.spec.as_mut().unwrap().replicas = Some(4);
    api.replace_scale("demo", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(
        api.get("demo").await.unwrap().data["spec"]["replicas"],
        json!(4)
    );

    // Unknown fields are pruned, or refused under fieldValidation=Strict.
    let pruned = api
        .patch("demo", &pp, &Patch::Merge(json!({"spec": {"bogus": true}})))
        .await
        .unwrap();
    assert!(pruned.data["spec"].get("bogus").is_none());
    let strict = api_status(
        api.patch(
            "demo",
            &PatchParams {
                field_validation: Some(kube::api::ValidationDirective::Strict),
                ..pp.clone()
            },
            &Patch::Merge(json!({"spec": {"bogus": true}})),
        )
        .await,
    );
    // Divergence (e2e/README.md): kube-apiserver answers a strict patch with an unknown field 422
    // (the patched object is Invalid); the stand-in 400, as both do for a strict create or update.
    assert_eq!(
        strict.code,
        if common::real() { 422 } else { 400 },
        "{strict:?}"
    );
    assert!(
        strict.message.contains("unknown field \"spec.bogus\""),
        "{}",
        strict.message
    );

    // Server-side apply of a custom resource, as the operator does it for status.
    let applied = api
        .patch_status(
            "demo",
            &PatchParams::apply("ringcache-operator").force(),
            &Patch::Apply(json!({"apiVersion": "cache.ringcache.dev/v1alpha1", "kind": "CacheCluster", "status": {"phase": "Running"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data["status"]["phase"], json!("Running"));
    assert_eq!(applied.data["status"]["readyReplicas"], json!(3));
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_lists_the_crd_and_its_deletion_removes_it() {
    let (server, client) = start(fast()).await;
    install_crd(&client).await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let group = discovery
        .groups()
        .find(|g| g.name() == "cache.ringcache.dev")
        .expect("group discovered");
    let (resource, caps) = group
        .recommended_resources()
        .into_iter()
        .find(|(r, _)| r.kind == "CacheCluster")
        .expect("kind discovered");
    assert_eq!(resource.plural, "cacheclusters");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural == "cacheclusters/scale" || r.plural == "scale")
    );
    let apps = discovery
        .groups()
        .find(|g| g.name() == "apps")
        .expect("apps discovered");
    assert!(
        apps.recommended_resources()
            .iter()
            .any(|(r, _)| r.plural == "statefulsets")
    );

    let api = cache_clusters(&client, "default");
    api.create(&PostParams::default(), &demo("a", 3))
        .await
        .unwrap();
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &common::cache_cluster_resource());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete(&cache_cluster_crd().name_any(), &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "the CRD to go", || {
        let crds = crds.clone();
        async move {
            crds.get_opt("cacheclusters.cache.ringcache.dev")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    assert_eq!(api_status(api.list(&ListParams::default()).await).code, 404);
    assert!(
        server
            .store()
            .list("cache.ringcache.dev", "cacheclusters", None)
            .is_empty()
    );
    server.shutdown().await;
}

/// The CRD's CEL rules hold on every write path, the scale subresource included (the stand-in runs
/// them with kube-cel; kube-apiserver with its own CEL): the issue that brought the real control plane
/// found `kubectl scale` below `replicationFactor` accepted by the stand-in.
#[tokio::test]
async fn cel_rules_refuse_a_scale_below_the_replication_factor() {
    let (server, client) = start_either(fast()).await;
    install_crd(&client).await;
    let api = cache_clusters(&client, "default");
    api.create(&PostParams::default(), &demo("demo", 3))
        .await
        .unwrap();
    let below = api_status(
        api.patch_scale(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await,
    );
    assert_eq!(below.code, 422, "{below:?}");
    assert!(
        below
            .message
            .contains("replicas must be at least replicationFactor"),
        "{}",
        below.message
    );
    // A transition rule (self == oldSelf) on an update of the object itself.
    let changed = api_status(
        api.patch(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5, "replicationFactor": 5}})),
        )
        .await,
    );
    assert_eq!(changed.code, 422, "{changed:?}");
    assert!(
        changed
            .message
            .contains("replicationFactor cannot change after creation"),
        "{}",
        changed.message
    );
    let scaled = api
        .patch_scale(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.and_then(|spec| spec.replicas), Some(4));
    server.shutdown().await;
}
