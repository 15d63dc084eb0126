//! RBAC on the API stand-in: bearer tokens map to users and service accounts; Role/ClusterRole and
//! their bindings allow exactly what they grant (verbs, groups, resources and subresources,
//! resourceNames); anything else answers 403 Forbidden naming user, verb, resource and namespace;
//! unknown tokens answer 401; the admin bypasses RBAC.

mod common;

use common::{api_status, fast, start, start_either};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use ringcache_e2e::apiserver::{ApiServerOptions, KubeUser};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn obj<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

async fn grant(admin: &Client) {
    let pp = PostParams::default();
    Api::<Namespace>::all(admin.clone())
        .create(&pp, &obj(json!({"metadata": {"name": "team"}})))
        .await
        .unwrap();
    let roles: Api<Role> = Api::namespaced(admin.clone(), "team");
    roles
        .create(&pp, &obj(json!({
            "metadata": {"name": "operator"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["only"]},
                {"apiGroups": [""], "resources": ["services"], "verbs": ["patch"]}
            ]
        })))
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(admin.clone(), "team")
        .create(&pp, &obj(json!({
            "metadata": {"name": "operator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "team"}]
        })))
        .await
        .unwrap();
    Api::<ClusterRole>::all(admin.clone())
        .create(&pp, &obj(json!({
            "metadata": {"name": "namespace-viewer"},
            "rules": [{"apiGroups": ["*"], "resources": ["namespaces"], "verbs": ["get", "list"]}]
        })))
        .await
        .unwrap();
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&pp, &obj(json!({
            "metadata": {"name": "namespace-viewers"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "namespace-viewer"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "viewers"}]
        })))
        .await
        .unwrap();
}

#[tokio::test]
async fn roles_allow_what_they_grant_and_nothing_else() {
    let (server, admin) = start_either(ApiServerOptions {
        rbac: true,
        ..fast()
    })
    .await;
    grant(&admin).await;
    let pp = PostParams::default();
    Api::<ConfigMap>::namespaced(admin.clone(), "team")
        .create(&pp, &obj(json!({"metadata": {"name": "cm"}})))
        .await
        .unwrap();
    let pod: Pod = obj(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    );
    // (On the real server the ServiceAccount admission plugin refuses pods until the service-account
    // controller has made the namespace's `default` account: retry for a moment.)
    common::eventually(
        std::time::Duration::from_secs(30),
        "the pod to be created",
        || {
            let pods = Api::<Pod>::namespaced(admin.clone(), "team");
            let pod = pod.clone();
            async move { pods.create(&PostParams::default(), &pod).await.ok() }
        },
    )
    .await;

    let op = server.service_account_client("team", "op").await;
    let cms: Api<ConfigMap> = Api::namespaced(op.clone(), "team");
    // (kube-controller-manager publishes `kube-root-ca.crt` into every namespace.)
    let listed: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|cm| cm.metadata.name.clone().unwrap_or_default())
        .filter(|name| name != "kube-root-ca.crt")
        .collect();
    assert_eq!(listed, ["cm"]);
    cms.get("cm").await.unwrap();
    let _watch = cms.watch(&WatchParams::default(), "0").await.unwrap();

    let elsewhere = api_status(
        Api::<ConfigMap>::namespaced(op.clone(), "default")
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(
        (elsewhere.code, elsewhere.reason.as_str()),
        (403, "Forbidden")
    );
    assert_eq!(
        elsewhere.message,
        "configmaps is forbidden: User \"system:serviceaccount:team:op\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    let create = api_status(
        cms.create(&pp, &obj(json!({"metadata": {"name": "new"}})))
            .await,
    );
    assert_eq!(create.code, 403);
    assert!(
        create
            .message
            .contains("cannot create resource \"configmaps\""),
        "{}",
        create.message
    );

    // A subresource grant is not a grant on the main resource, and the other way round.
    let pods: Api<Pod> = Api::namespaced(op.clone(), "team");
    pods.patch_status(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await
    .unwrap();
    let main = api_status(
        pods.patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await,
    );
    assert_eq!(main.code, 403);
    assert_eq!(
        main.message,
        "pods \"p\" is forbidden: User \"system:serviceaccount:team:op\" cannot patch resource \"pods\" in API group \"\" in the namespace \"team\""
    );

    // resourceNames restrict to the named objects.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(op.clone(), "team");
    assert_eq!(
        api_status(secrets.get("only").await).code,
        404,
        "allowed, but absent"
    );
    assert_eq!(api_status(secrets.get("other").await).code, 403);

    // Server-side apply that would create an object needs create as well as patch.
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(op.clone(), "team");
    let apply = api_status(
        services
            .patch(
                "svc",
                &PatchParams::apply("op"),
                // A valid Service: kube-apiserver validates the object before it asks whether
                // the apply may create it (without ports it answers 422, not 403).
                &Patch::Apply(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})),
            )
            .await,
    );
    assert_eq!(apply.code, 403);
    assert!(
        apply
            .message
            .contains("cannot create resource \"services\""),
        "{}",
        apply.message
    );

    // The admin is never checked.
    Api::<ConfigMap>::namespaced(admin.clone(), "default")
        .list(&ListParams::default())
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn cluster_roles_users_groups_kubeconfigs_and_unknown_tokens() {
    let (server, admin) = start(ApiServerOptions {
        rbac: true,
        ..fast()
    })
    .await;
    grant(&admin).await;
    // Alice connects through a kubeconfig file, as kubectl or the operator binary would.
    let dir = std::env::temp_dir().join(format!(
        "ringcache-rbac-{}-{}",
        std::process::id(),
        server.addr().port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alice.kubeconfig");
    server
        .write_kubeconfig(&path, &KubeUser::user("alice"))
        .unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let alice = Client::try_from(config).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let namespaces = Api::<Namespace>::all(alice.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(namespaces.items.len() >= 5);
    let cluster_wide = api_status(
        Api::<ConfigMap>::all(alice.clone())
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(cluster_wide.code, 403);
    assert!(
        cluster_wide.message.ends_with("at the cluster scope"),
        "{}",
        cluster_wide.message
    );

    let viewer = server
        .client(&KubeUser::User {
            name: "bob".into(),
            groups: vec!["viewers".into()],
        })
        .await
        .unwrap();
    Api::<Namespace>::all(viewer.clone())
        .get("team")
        .await
        .unwrap();
    let outsider = server.client(&KubeUser::user("carol")).await.unwrap();
    assert_eq!(
        api_status(Api::<Namespace>::all(outsider).get("team").await).code,
        403
    );

    // A token the server never issued is not a user.
    let mut forged = server.kubeconfig(&KubeUser::user("mallory"));
    forged.token = "not-a-token".into();
    let forged = Kubeconfig::from_yaml(&forged.to_yaml().unwrap()).unwrap();
    let forged = kube::Config::from_custom_kubeconfig(forged, &KubeConfigOptions::default())
        .await
        .unwrap();
    let forged = Client::try_from(forged).unwrap();
    let status = api_status(
        Api::<Namespace>::all(forged)
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(status.code, 401);
    server.shutdown().await;
}

fn review(kind: &str, user: Option<&str>, verb: &str, resource: &str, namespace: &str) -> Value {
    let mut spec = json!({"resourceAttributes": {"verb": verb, "group": "", "resource": resource, "namespace": namespace}});
    if let Some(user) = user {
        spec["user"] = json!(user);
    }
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": kind, "metadata": {}, "spec": spec})
}

async fn ask(client: &Client, plural: &str, body: Value) -> Result<Value, kube::Error> {
    let request = http::Request::post(format!("/apis/authorization.k8s.io/v1/{plural}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap();
    client.request::<Value>(request).await
}

#[tokio::test]
async fn access_reviews_and_impersonation() {
    let (server, admin) = start(ApiServerOptions {
        rbac: true,
        ..fast()
    })
    .await;
    grant(&admin).await;
    let op = server
        .client(&KubeUser::service_account("team", "op"))
        .await
        .unwrap();

    let self_review =
        |verb, resource, ns| review("SelfSubjectAccessReview", None, verb, resource, ns);
    let mine = ask(
        &op,
        "selfsubjectaccessreviews",
        self_review("list", "configmaps", "team"),
    )
    .await
    .unwrap();
    assert_eq!(mine["status"]["allowed"], json!(true));
    let not_mine = ask(
        &op,
        "selfsubjectaccessreviews",
        self_review("list", "configmaps", "default"),
    )
    .await
    .unwrap();
    assert_eq!(not_mine["status"]["allowed"], json!(false));
    let reason = not_mine["status"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot list resource \"configmaps\""),
        "{reason}"
    );

    let for_alice = review(
        "SubjectAccessReview",
        Some("alice"),
        "list",
        "namespaces",
        "",
    );
    let for_alice = ask(&admin, "subjectaccessreviews", for_alice)
        .await
        .unwrap();
    assert_eq!(for_alice["status"]["allowed"], json!(true));
    let for_op = review(
        "SubjectAccessReview",
        Some("system:serviceaccount:team:op"),
        "delete",
        "configmaps",
        "team",
    );
    let for_op = ask(&admin, "subjectaccessreviews", for_op).await.unwrap();
    assert_eq!(for_op["status"]["allowed"], json!(false));
    let others = review("SubjectAccessReview", Some("alice"), "get", "pods", "");
    assert_eq!(
        api_status(ask(&op, "subjectaccessreviews", others).await).code,
        403
    );

    // The admin may act as someone else; RBAC then applies to that someone.
    let yaml = server.kubeconfig(&KubeUser::Admin).to_yaml().unwrap();
    let mut kubeconfig = Kubeconfig::from_yaml(&yaml).unwrap();
    for named in &mut kubeconfig.auth_infos {
        named.auth_info.as_mut().unwrap().impersonate =
            Some("system:serviceaccount:team:op".into());
    }
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let as_op = Client::try_from(config).unwrap();
    Api::<ConfigMap>::namespaced(as_op.clone(), "team")
        .list(&ListParams::default())
        .await
        .unwrap();
    let denied = api_status(
        Api::<ConfigMap>::namespaced(as_op, "default")
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(denied.code, 403);
    assert!(
        denied.message.contains("system:serviceaccount:team:op"),
        "{}",
        denied.message
    );

    // Others may not impersonate.
    let request = http::Request::get("/api/v1/namespaces")
        .header("impersonate-user", "admin")
        .body(Vec::new())
        .unwrap();
    assert_eq!(api_status(op.request::<Value>(request).await).code, 403);
    server.shutdown().await;
}
