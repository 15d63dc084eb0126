//! A kube-runtime `Controller` shaped like the operator's against the API stand-in: it watches
//! CacheClusters, owns a ConfigMap it server-side applies with an owner reference, and applies
//! status with `observedGeneration`. Checks that it converges, follows `kubectl scale`-style scale
//! changes, goes quiet when nothing changes (no-op applies must not wake it up again), and that
//! deleting the CacheCluster garbage-collects the ConfigMap.

mod common;

use common::{cache_cluster_resource, cache_clusters, eventually, fast, install_crd, start_either};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Ctx {
    client: Client,
    reconciles: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::Error);

async fn reconcile(cc: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let ns = cc.namespace().unwrap_or_default();
    let name = cc.name_any();
    let replicas = cc.data["spec"]["replicas"].as_i64().unwrap_or(0);
    let owner = cc
        .controller_owner_ref(&cache_cluster_resource())
        .expect("has uid");
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": format!("{name}-config"), "ownerReferences": [owner]},
        "data": {"replicas": replicas.to_string()},
    });
    let apply = PatchParams::apply("test-operator").force();
    Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
        .patch(&format!("{name}-config"), &apply, &Patch::Apply(&config))
        .await?;
    let status = json!({
        "apiVersion": "cache.ringcache.dev/v1alpha1",
        "kind": "CacheCluster",
        "status": {"observedGeneration": cc.meta().generation, "replicas": replicas, "phase": "Running"},
    });
    cache_clusters(&ctx.client, &ns)
        .patch_status(&name, &apply, &Patch::Apply(&status))
        .await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<DynamicObject>, _: &ReconcileError, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

#[tokio::test]
async fn controller_converges_follows_scale_and_goes_quiet() {
    let (server, client) = start_either(fast()).await;
    install_crd(&client).await;
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        reconciles: AtomicUsize::new(0),
    });
    let clusters: Api<DynamicObject> = Api::all_with(client.clone(), &cache_cluster_resource());
    let controller = Controller::new_with(
        clusters,
        watcher::Config::default(),
        cache_cluster_resource(),
    )
    .owns(
        Api::<ConfigMap>::all(client.clone()),
        watcher::Config::default(),
    )
    .run(reconcile, error_policy, ctx.clone())
    .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    let api = cache_clusters(&client, "default");
    let demo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cache.ringcache.dev/v1alpha1", "kind": "CacheCluster",
        "metadata": {"name": "demo"}, "spec": {"replicas": 3}
    }))
    .unwrap();
    api.create(&PostParams::default(), &demo).await.unwrap();
    let configs: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let wait_for = |replicas: &'static str, generation: i64| {
        let configs = configs.clone();
        let api = api.clone();
        async move {
            eventually(
                Duration::from_secs(10),
                "the controller to converge",
                || {
                    let configs = configs.clone();
                    let api = api.clone();
                    async move {
                        let cm = configs.get_opt("demo-config").await.unwrap()?;
                        let cc = api.get("demo").await.unwrap();
                        let done = cm.data.as_ref()?.get("replicas")? == replicas
                            && cc.data["status"]["observedGeneration"] == json!(generation);
                        done.then_some(())
                    }
                },
            )
            .await
        }
    };
    wait_for("3", 1).await;

    api.patch_scale(
        "demo",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    wait_for("5", 2).await;

    // Converged: its own no-op applies must not keep waking it up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = ctx.reconciles.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let more = ctx.reconciles.load(Ordering::SeqCst) - settled;
    assert!(more <= 1, "{more} reconciles while nothing changed");

    api.delete("demo", &DeleteParams::default()).await.unwrap();
    eventually(
        // kube-controller-manager's collector learns of a new CRD's resource from discovery, which it
        // rereads every 30 s (the stand-in's collects within milliseconds).
        Duration::from_secs(60),
        "the owned ConfigMap to be collected",
        || {
            let configs = configs.clone();
            async move {
                configs
                    .get_opt("demo-config")
                    .await
                    .unwrap()
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;
    controller.abort();
    server.shutdown().await;
}
