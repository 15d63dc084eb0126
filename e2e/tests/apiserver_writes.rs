//! Writes against the API stand-in: create/replace preconditions (409 Conflict, 409 AlreadyExists,
//! 404 NotFound as `kube::Error::Api`), no-op writes, merge/JSON/strategic/apply patches with field
//! managers, `generation` and the status subresource of a built-in (StatefulSet), and errors for
//! requests the stand-in does not support.

mod common;

use common::{api_status, fast, start, start_either};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": value}})).unwrap()
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

#[tokio::test]
async fn create_get_replace_preconditions_and_errors() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = api
        .create(&PostParams::default(), &config_map("a", "1"))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_ref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(meta.namespace.as_deref(), Some("default"));

    let exists = api_status(
        api.create(&PostParams::default(), &config_map("a", "1"))
            .await,
    );
    assert_eq!(
        (exists.code, exists.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(exists.message, "configmaps \"a\" already exists");

    let mut with_version = created.clone();
    with_version.metadata.name = Some("b".into());
    let set_version = api_status(api.create(&PostParams::default(), &with_version).await);
    // A 500 from the real server's storage layer; the stand-in answers the same.
    assert_eq!(set_version.code, 500, "{set_version:?}");
    assert_eq!(
        set_version.message,
        "resourceVersion should not be set on objects to be created"
    );

    let missing = api_status(api.get("nope").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "configmaps \"nope\" not found");

    // Replace with the current resourceVersion succeeds and moves it; the stale one then conflicts.
    let mut next = created.clone();
    next.data = Some(BTreeMap::from([("v".into(), "2".into())]));
    let replaced = api
        .replace("a", &PostParams::default(), &next)
        .await
        .unwrap();
    assert_ne!(replaced.resource_version(), created.resource_version());
    let stale = api_status(api.replace("a", &PostParams::default(), &next).await);
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(
        stale.message.contains(
            "the object has been modified; please apply your changes to the latest version"
        ),
        "{}",
        stale.message
    );
    // Without a resourceVersion, replace is unconditional.
    let mut unconditional = config_map("a", "3");
    unconditional.metadata.resource_version = None;
    let replaced = api
        .replace("a", &PostParams::default(), &unconditional)
        .await
        .unwrap();
    assert_eq!(data(&replaced)["v"], "3");
    // An identical write keeps the resourceVersion, as the real server skips no-op writes.
    let same = api
        .replace("a", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert_eq!(same.resource_version(), replaced.resource_version());

    let missing_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let status = api_status(
        missing_ns
            .create(&PostParams::default(), &config_map("b", "1"))
            .await,
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );

    let mut generated = config_map("", "1");
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let generated = api
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert!(generated.name_any().starts_with("gen-") && generated.name_any().len() == 9);

    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    api.create(&dry, &config_map("dry", "1")).await.unwrap();
    assert_eq!(api_status(api.get("dry").await).code, 404);

    let invalid = api_status(
        api.create(&PostParams::default(), &config_map("Upper_Case", "1"))
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    server.shutdown().await;
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &config_map("p", "1"))
        .await
        .unwrap();
    let pp = PatchParams::default();

    let merged = api
        .patch(
            "p",
            &pp,
            &Patch::Merge(
                json!({"data": {"v": null, "w": "2"}, "metadata": {"labels": {"a": "b"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(data(&merged), BTreeMap::from([("w".into(), "2".into())]));
    assert_eq!(merged.labels()["a"], "b");

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/w", "value": "2"},
        {"op": "add", "path": "/data/x", "value": "3"},
        {"op": "remove", "path": "/data/w"}
    ]))
    .unwrap();
    let patched = api.patch("p", &pp, &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(data(&patched), BTreeMap::from([("x".into(), "3".into())]));
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/x", "value": "nope"}]))
            .unwrap();
    let status = api_status(api.patch("p", &pp, &Patch::<()>::Json(failing)).await);
    assert_eq!(status.code, 422);

    let strategic = api
        .patch("p", &pp, &Patch::Strategic(json!({"data": {"y": "4"}})))
        .await
        .unwrap();
    assert_eq!(data(&strategic).len(), 2);

    // A patch carrying a stale resourceVersion is a precondition, like on replace.
    let stale = api_status(
        api.patch(
            "p",
            &pp,
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "data": {"z": "5"}})),
        )
        .await,
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    let missing = api_status(api.patch("nope", &pp, &Patch::Merge(json!({}))).await);
    assert_eq!(missing.code, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_creates_merges_owns_and_conflicts() {
    let (server, client) = start_either(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1", "b": "1"}});
    let created = api
        .patch("ssa", &PatchParams::apply("alice"), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(data(&created).len(), 2);
    let managers: Vec<(String, String)> = created
        .managed_fields()
        .iter()
        .map(|m| (m.manager.clone().unwrap(), m.operation.clone().unwrap()))
        .collect();
    assert_eq!(managers, [("alice".to_string(), "Apply".to_string())]);

    // Re-applying the same configuration is a no-op.
    let again = api
        .patch("ssa", &PatchParams::apply("alice"), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(again.resource_version(), created.resource_version());

    // Another manager changing alice's field conflicts unless it forces.
    let bob = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "2", "c": "1"}});
    let conflict = api_status(
        api.patch("ssa", &PatchParams::apply("bob"), &Patch::Apply(&bob))
            .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"alice\": .data.a"
    );
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&bob),
        )
        .await
        .unwrap();
    assert_eq!(data(&forced)["a"], "2");
    assert_eq!(data(&forced)["b"], "1");

    // Alice stops applying b (nobody else owns it: removed) and a (bob owns it now: kept).
    let alice_less =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {}});
    let after = api
        .patch(
            "ssa",
            &PatchParams::apply("alice"),
            &Patch::Apply(&alice_less),
        )
        .await
        .unwrap();
    assert_eq!(
        data(&after),
        BTreeMap::from([("a".into(), "2".into()), ("c".into(), "1".into())])
    );

    // An Update (merge patch) takes ownership of what it changes: bob's apply then conflicts.
    api.patch(
        "ssa",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"c": "9"}})),
    )
    .await
    .unwrap();
    let conflict = api_status(
        api.patch("ssa", &PatchParams::apply("bob"), &Patch::Apply(&bob))
            .await,
    );
    assert_eq!(conflict.code, 409);

    let no_manager = api_status(
        api.patch("ssa", &PatchParams::default(), &Patch::Apply(&applied))
            .await,
    );
    assert_eq!(no_manager.code, 422, "{no_manager:?}");
    server.shutdown().await;
}

fn stateful_set(name: &str, replicas: i32) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "example/c:1"}]}
            }
        },
        "status": {"replicas": 99}
    }))
    .unwrap()
}

#[tokio::test]
async fn generation_and_status_subresource_of_a_statefulset() {
    // Stand-in only: on the real control plane kube-controller-manager's StatefulSet controller
    // writes this StatefulSet's status while the test does.
    let (server, client) = start(fast()).await;
    let api: Api<StatefulSet> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &stateful_set("s", 3))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.status.is_none(),
        "status is dropped on create: {:?}",
        created.status
    );

    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "s",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );

    let with_status = api
        .patch_status(
            "s",
            &pp,
            &Patch::Merge(
                json!({"status": {"replicas": 3, "readyReplicas": 2}, "spec": {"replicas": 7}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        with_status.metadata.generation,
        Some(1),
        "status writes keep the generation"
    );
    assert_eq!(
        with_status.spec.replicas,
        Some(3),
        "status writes ignore spec"
    );
    assert_eq!(with_status.status.as_ref().unwrap().ready_replicas, Some(2));

    let scaled = api
        .patch(
            "s",
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": 5}, "status": {"replicas": 0}})),
        )
        .await
        .unwrap();
    assert_eq!(
        scaled.metadata.generation,
        Some(2),
        "spec changes bump the generation"
    );
    assert_eq!(
        scaled.status.as_ref().unwrap().replicas,
        3,
        "main-resource writes ignore status"
    );

    let mut replaced = scaled.clone();
    replaced.status.as_mut().unwrap().ready_replicas = Some(3);
    let replaced = api
        .replace_status("s", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert_eq!(replaced.status.unwrap().ready_replicas, Some(3));
    assert_eq!(replaced.metadata.generation, Some(2));

    // The built-in scale subresource reads spec.replicas and the selector.
    let scale = api.get_scale("s").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(5));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=s"));
    server.shutdown().await;
}

#[tokio::test]
async fn unsupported_requests_answer_errors_naming_the_request() {
    // Stand-in only: what it does not implement (the real server serves these).
    let (server, client) = start(fast()).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "example/c:1"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let logs = api_status(pods.logs("p", &Default::default()).await);
    assert_eq!(logs.code, 501);
    assert!(
        logs.message
            .contains("GET /api/v1/namespaces/default/pods/p/log")
            && logs.message.contains("\"log\""),
        "{}",
        logs.message
    );

    let raw = |method: &str, path: &str, content_type: &str, body: &str| {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    let status = |client: &Client, req: http::Request<Vec<u8>>| {
        let client = client.clone();
        async move { api_status(client.request::<serde_json::Value>(req).await) }
    };
    let collection_patch = status(
        &client,
        raw(
            "PATCH",
            "/api/v1/namespaces/default/configmaps",
            "application/merge-patch+json",
            "{}",
        ),
    )
    .await;
    assert_eq!(collection_patch.code, 405);
    assert!(
        collection_patch
            .message
            .contains("PATCH /api/v1/namespaces/default/configmaps")
    );
    let unknown = status(
        &client,
        raw(
            "GET",
            "/apis/example.com/v1/widgets",
            "application/json",
            "",
        ),
    )
    .await;
    assert_eq!((unknown.code, unknown.reason.as_str()), (404, "NotFound"));
    let media = status(
        &client,
        raw(
            "PATCH",
            "/api/v1/namespaces/default/pods/p",
            "text/plain",
            "x",
        ),
    )
    .await;
    assert_eq!(media.code, 415);
    let streaming = status(
        &client,
        raw("GET", "/api/v1/namespaces/default/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "application/json", ""),
    )
    .await;
    assert_eq!(streaming.code, 501);
    let directive = status(
        &client,
        raw(
            "PATCH",
            "/api/v1/namespaces/default/pods/p",
            "application/strategic-merge-patch+json",
            r#"{"spec": {"$retainKeys": ["x"]}}"#,
        ),
    )
    .await;
    assert_eq!(directive.code, 501);
    let post_to_object = status(
        &client,
        raw(
            "POST",
            "/api/v1/namespaces/default/pods/p",
            "application/json",
            "{}",
        ),
    )
    .await;
    assert_eq!(post_to_object.code, 405);
    server.shutdown().await;
}

/// What the operator applies besides its usual objects: a Secret (as `data`) and a NetworkPolicy,
/// by server-side apply that creates them, again unchanged, then with a change (the policy's
/// generation moves on spec changes only).
#[tokio::test]
async fn server_side_apply_of_a_secret_and_a_network_policy() {
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let (server, client) = start_either(fast()).await;
    let apply = PatchParams::apply("ringcache-operator").force();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "demo-cluster-secret", "labels": {"app.kubernetes.io/instance": "demo"}},
        "type": "Opaque",
        "data": {"secret": "c2VjcmV0LXZhbHVl"}
    });
    secrets
        .patch("demo-cluster-secret", &apply, &Patch::Apply(&secret))
        .await
        .unwrap();
    let stored = secrets.get("demo-cluster-secret").await.unwrap();
    assert_eq!(stored.data.unwrap()["secret"].0, b"secret-value");
    assert_eq!(stored.type_.as_deref(), Some("Opaque"));

    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "default");
    let policy = |port: i32| {
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "demo"},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/instance": "demo"}},
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "ports": [{"port": port, "protocol": "TCP"}],
                    "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "demo"}}}]
                }]
            }
        })
    };
    let created = policies
        .patch("demo", &apply, &Patch::Apply(&policy(16379)))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let same = policies
        .patch("demo", &apply, &Patch::Apply(&policy(16379)))
        .await
        .unwrap();
    assert_eq!(
        same.metadata.generation,
        Some(1),
        "an unchanged apply is no change"
    );
    let changed = policies
        .patch("demo", &apply, &Patch::Apply(&policy(9090)))
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    let ingress = changed.spec.unwrap().ingress.unwrap();
    assert_eq!(
        ingress[0].ports.as_ref().unwrap()[0].port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(9090))
    );
    policies.delete("demo", &Default::default()).await.unwrap();
    assert_eq!(api_status(policies.get("demo").await).code, 404);
    server.shutdown().await;
}
