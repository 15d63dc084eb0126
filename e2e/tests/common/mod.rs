//! Helpers shared by the API stand-in tests: start a server, build clients, load the CacheCluster
//! CRD from `crds/`, and wait for eventual conditions (garbage collection runs in the background).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use ringcache_e2e::apiserver::{ApiServer, ApiServerHandle, ApiServerOptions, KubeUser};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Starts a stand-in with test-friendly timings and returns it with an admin client.
pub async fn start(options: ApiServerOptions) -> (ApiServerHandle, Client) {
    let server = ApiServer::start(options).await.expect("stand-in starts");
    let client = server.client(&KubeUser::Admin).await.expect("admin client");
    (server, client)
}

/// The server a test that describes real Kubernetes behaviour runs against: the stand-in, or with
/// `RINGCACHE_E2E_CONTROL_PLANE=real` a real kube-apiserver and kube-controller-manager (the stand-in's
/// options do not apply there), so both are held to the same expectations.
pub enum EitherServer {
    Standin(ApiServerHandle),
    /// The control plane and its directory (removed on shutdown).
    Real(ringcache_e2e::control_plane::RealControlPlane, PathBuf),
}

impl EitherServer {
    /// A client authenticated as service account `namespace/name`: the stand-in's token for it, or
    /// on the real server a TokenRequest token (the account is created first if it does not exist).
    pub async fn service_account_client(&self, namespace: &str, name: &str) -> Client {
        match self {
            EitherServer::Standin(server) => server
                .client(&KubeUser::service_account(namespace, name))
                .await
                .expect("service-account client"),
            EitherServer::Real(plane, _) => {
                let admin = plane.admin_client().await.expect("admin client");
                let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
                    Api::namespaced(admin, namespace);
                if accounts.get_opt(name).await.unwrap().is_none() {
                    let account = serde_json::from_value(serde_json::json!({
                        "metadata": {"name": name}
                    }))
                    .unwrap();
                    accounts
                        .create(&PostParams::default(), &account)
                        .await
                        .unwrap();
                }
                let token = plane
                    .service_account_token(namespace, name)
                    .await
                    .expect("a TokenRequest token");
                plane
                    .client_with_token(&format!("system:serviceaccount:{namespace}:{name}"), &token)
                    .await
                    .expect("service-account client")
            }
        }
    }

    pub async fn shutdown(self) {
        match self {
            EitherServer::Standin(server) => server.shutdown().await,
            EitherServer::Real(plane, dir) => {
                plane.shutdown().await;
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// Starts the stand-in with `options`, or the real control plane (see [`EitherServer`]).
pub async fn start_either(options: ApiServerOptions) -> (EitherServer, Client) {
    if std::env::var("RINGCACHE_E2E_CONTROL_PLANE").as_deref() != Ok("real") {
        let (server, client) = start(options).await;
        return (EitherServer::Standin(server), client);
    }
    let dir = std::env::temp_dir().join(format!(
        "ringcache-api-real-{}-{}",
        std::process::id(),
        NEXT_REAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let plane = ringcache_e2e::control_plane::RealControlPlane::start(
        ringcache_e2e::control_plane::ControlPlaneOptions::new(dir.clone()),
    )
    .await
    .expect("the real control plane starts (scripts/install-kube.sh builds it)");
    let client = plane.admin_client().await.expect("admin client");
    (EitherServer::Real(plane, dir), client)
}

static NEXT_REAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Whether this run is against the real control plane (for the few expectations that differ).
pub fn real() -> bool {
    std::env::var("RINGCACHE_E2E_CONTROL_PLANE").as_deref() == Ok("real")
}

/// Default options with fast bookmarks and garbage collection.
pub fn fast() -> ApiServerOptions {
    ApiServerOptions {
        bookmark_interval: Duration::from_millis(200),
        gc_interval: Duration::from_millis(50),
        ..ApiServerOptions::default()
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// The CacheCluster CRD as generated into `crds/`.
pub fn cache_cluster_crd() -> CustomResourceDefinition {
    let path = repo_root().join("crds/cacheclusters.cache.ringcache.dev.yaml");
    let text = std::fs::read_to_string(&path).expect("CRD file readable");
    serde_yaml::from_str(&text).expect("CRD file parses")
}

/// Creates the CacheCluster CRD.
pub async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &cache_cluster_crd())
        .await
        .expect("CRD created");
    // A real API server marks the CRD Established and serves the new resource a moment after the
    // create, and the two are not ordered (the stand-in does both at once): wait for both.
    let api = cache_clusters(client, "default");
    eventually(
        Duration::from_secs(30),
        "the CRD to be Established and its resource served",
        || {
            let api = api.clone();
            let crds = crds.clone();
            async move {
                let crd = crds.get("cacheclusters.cache.ringcache.dev").await.ok()?;
                let established = crd
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                if !established {
                    return None;
                }
                match api.list(&Default::default()).await {
                    Err(kube::Error::Api(status)) if status.code == 404 => None,
                    _ => Some(()),
                }
            }
        },
    )
    .await;
}

/// The CacheCluster resource for dynamic clients.
pub fn cache_cluster_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("cache.ringcache.dev", "v1alpha1", "CacheCluster"),
        "cacheclusters",
    )
}

/// A CacheCluster API in a namespace.
pub fn cache_clusters(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &cache_cluster_resource())
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `kube::Error::Api` status of a failed call (panics on success or another error).
pub fn api_status<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}
