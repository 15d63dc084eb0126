//! End-to-end: the real operator binary reconciles a CacheCluster in the API stand-in, the pod
//! runner runs its pods as real `ringcache-node` processes, and a Redis client uses the result.
//!
//! Written against `kube::Client`. By default everything runs locally (`LocalCluster`); with
//! `RINGCACHE_E2E_REAL=1` and `KUBECONFIG`, the same scenario runs against that cluster (the
//! operator installed there, e.g. with the Helm chart; pod IPs reachable from here): killing a
//! node becomes deleting its pod, restarting the operator deletes the operator's pods
//! (`RINGCACHE_E2E_OPERATOR_NAMESPACE`, default `ringcache-system`), and the CacheCluster goes to
//! `RINGCACHE_E2E_NAMESPACE` (default `default`).

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use redis::AsyncCommands;
use ringcache_e2e::credentials::read_cluster_secret;
use ringcache_e2e::local::{
    ControlPlane, LocalCluster, LocalOptions, cache_cluster_resource, condition_true,
    sibling_binary,
};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cachecluster.yaml");

/// One cluster at a time: each runs three members with 64 Raft groups, and two at once on a
/// loaded two-core machine starve their heartbeats into needless elections.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn real_cluster() -> bool {
    std::env::var("RINGCACHE_E2E_REAL").as_deref() == Ok("1")
}

async fn start_local(subnet: u8, operator_rbac: Option<String>) -> LocalCluster {
    let state_dir =
        std::env::temp_dir().join(format!("ringcache-e2e-{}-{subnet}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    let options = LocalOptions {
        manifest: MANIFEST.into(),
        state_dir,
        node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
        operator_binary: sibling_binary("ringcache-operator", "RINGCACHE_OPERATOR_BIN"),
        second_octet: subnet,
        timeout: Duration::from_secs(240),
        operator_rbac,
        // RINGCACHE_E2E_CONTROL_PLANE=real: the same scenarios against kube-apiserver and
        // kube-controller-manager (scripts/test.sh runs them both ways).
        control_plane: ControlPlane::from_env(),
    };
    let cluster = LocalCluster::start(options)
        .await
        .expect("local cluster starts (build the binaries: cargo build -p ringcache-node -p ringcache-operator)");
    cluster
        .wait_available(|progress| eprintln!("e2e: {progress}"))
        .await
        .expect("the CacheCluster becomes Available");
    cluster
}

/// Where the scenario runs: the local stand-in, or a real cluster.
enum Environment {
    Local(Box<LocalCluster>),
    Real {
        client: Client,
        namespace: String,
        name: String,
    },
}

impl Environment {
    async fn start(subnet: u8) -> Self {
        if !real_cluster() {
            return Environment::Local(Box::new(start_local(subnet, None).await));
        }
        let client = Client::try_default()
            .await
            .expect("KUBECONFIG reaches a cluster");
        let namespace =
            std::env::var("RINGCACHE_E2E_NAMESPACE").unwrap_or_else(|_| "default".to_owned());
        let text = std::fs::read_to_string(MANIFEST).unwrap();
        let object: DynamicObject = serde_yaml::from_str(&text).unwrap();
        let name = object.metadata.name.clone().unwrap();
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &namespace, &cache_cluster_resource());
        api.patch(
            &name,
            &PatchParams::apply("ringcache-e2e").force(),
            &Patch::Apply(&object),
        )
        .await
        .unwrap();
        eventually(
            "the CacheCluster is Available",
            Duration::from_secs(600),
            || available(&client, &namespace, &name),
        )
        .await;
        Environment::Real {
            client,
            namespace,
            name,
        }
    }

    fn client(&self) -> Client {
        match self {
            Environment::Local(cluster) => cluster.client(),
            Environment::Real { client, .. } => client.clone(),
        }
    }

    fn namespace(&self) -> String {
        match self {
            Environment::Local(cluster) => cluster.namespace().to_owned(),
            Environment::Real { namespace, .. } => namespace.clone(),
        }
    }

    fn name(&self) -> String {
        match self {
            Environment::Local(cluster) => cluster.name().to_owned(),
            Environment::Real { name, .. } => name.clone(),
        }
    }

    /// `host:port` of a member's Redis port: its pod IP.
    async fn endpoint(&self, ordinal: u32) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client(), &self.namespace());
        let pod = pods
            .get(&format!("{}-{ordinal}", self.name()))
            .await
            .unwrap();
        let ip = pod
            .status
            .and_then(|status| status.pod_ip)
            .expect("the pod has an IP");
        format!("{ip}:6379")
    }

    /// Something that identifies the member's current process (pid, or pod uid).
    async fn member_incarnation(&self, ordinal: u32) -> Option<String> {
        let pod_name = format!("{}-{ordinal}", self.name());
        match self {
            Environment::Local(cluster) => cluster
                .runner()
                .pod_pid(&self.namespace(), &pod_name)
                .map(|pid| pid.to_string()),
            Environment::Real {
                client, namespace, ..
            } => {
                let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
                pods.get(&pod_name)
                    .await
                    .ok()
                    .and_then(|pod| pod.metadata.uid)
            }
        }
    }

    /// Kills a member abruptly: SIGKILL of its process, or a forced delete of its pod.
    async fn kill_member(&self, ordinal: u32) {
        let pod_name = format!("{}-{ordinal}", self.name());
        match self {
            Environment::Local(cluster) => {
                let pid = cluster
                    .runner()
                    .pod_pid(&self.namespace(), &pod_name)
                    .expect("the member runs");
                std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .unwrap();
            }
            Environment::Real {
                client, namespace, ..
            } => {
                let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
                pods.delete(&pod_name, &DeleteParams::default().grace_period(0))
                    .await
                    .unwrap();
            }
        }
    }

    async fn restart_operator(&mut self) {
        match self {
            Environment::Local(cluster) => {
                cluster.kill_operator().await;
                cluster.start_operator().unwrap();
            }
            Environment::Real { client, .. } => {
                let namespace = std::env::var("RINGCACHE_E2E_OPERATOR_NAMESPACE")
                    .unwrap_or_else(|_| "ringcache-system".to_owned());
                let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
                pods.delete_collection(
                    &DeleteParams::default(),
                    &ListParams::default().labels("app.kubernetes.io/name=ringcache-operator"),
                )
                .await
                .unwrap();
            }
        }
    }

    /// Whether no process (or pod) of the cluster runs any more.
    async fn members_stopped(&self) -> bool {
        match self {
            Environment::Local(cluster) => (0..3).all(|ordinal| {
                cluster
                    .runner()
                    .pod_address(&self.namespace(), &format!("{}-{ordinal}", self.name()))
                    .is_none()
            }),
            Environment::Real {
                client, namespace, ..
            } => {
                let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
                pods.list(&ListParams::default()).await.is_ok_and(|list| {
                    list.items.iter().all(|pod| {
                        !pod.metadata
                            .name
                            .as_deref()
                            .unwrap_or("")
                            .starts_with(&format!("{}-", self.name()))
                    })
                })
            }
        }
    }

    async fn shutdown(self) {
        if let Environment::Local(cluster) = self {
            cluster.shutdown().await;
        }
    }
}

async fn redis_connection(endpoint: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://{endpoint}/")).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Polls `check` every 250 ms until it is true or `timeout` passes.
async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn available(client: &Client, namespace: &str, name: &str) -> bool {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &cache_cluster_resource());
    match api.get(name).await {
        Ok(object) => condition_true(object.data.get("status"), "Available"),
        Err(_) => false,
    }
}

async fn events_with_reason(client: &Client, namespace: &str, reason: &str) -> usize {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .map(|list| {
            list.items
                .iter()
                .filter(|event| event.reason.as_deref() == Some(reason))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cachecluster_comes_up_serves_heals_and_is_collected() {
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let mut cluster = Environment::start(61).await;
    let client = cluster.client();
    let namespace = cluster.namespace();
    let name = cluster.name();

    // Read and write through any pod's address.
    let mut endpoints = Vec::new();
    for ordinal in 0..3 {
        endpoints.push(cluster.endpoint(ordinal).await);
    }
    let mut first = redis_connection(&endpoints[0]).await;
    for index in 0..50 {
        let _: () = first
            .set(format!("key{index}"), format!("value{index}"))
            .await
            .unwrap();
    }
    for endpoint in &endpoints[1..] {
        let mut connection = redis_connection(endpoint).await;
        for index in 0..50 {
            let value: String = connection.get(format!("key{index}")).await.unwrap();
            assert_eq!(value, format!("value{index}"), "read through {endpoint}");
        }
    }

    // Restart the operator: no duplicate work (no second formation, StatefulSet untouched).
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let before = statefulsets.get(&name).await.unwrap();
    let formed_before = events_with_reason(&client, &namespace, "ClusterFormed").await;
    assert_eq!(formed_before, 1, "the cluster was formed exactly once");
    cluster.restart_operator().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = statefulsets.get(&name).await.unwrap();
    assert_eq!(
        before.metadata.generation, after.metadata.generation,
        "a restarted operator does not rewrite the StatefulSet spec"
    );
    assert_eq!(
        events_with_reason(&client, &namespace, "ClusterFormed").await,
        1
    );
    assert!(available(&client, &namespace, &name).await);

    // The cluster's secret, in the Secret the members mount: derived from the operator's key (so
    // the same after the restart), and the NetworkPolicy in front of the pods.
    let secret = read_cluster_secret(&client, &namespace, &name)
        .await
        .expect("the operator wrote the cluster's Secret");
    assert_eq!(secret.len(), 64);
    if let Environment::Local(local) = &cluster {
        assert_eq!(secret, local.cluster_secret().await.unwrap());
    }
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &namespace);
    assert!(
        policies.get_opt(&name).await.unwrap().is_some(),
        "the operator made the NetworkPolicy"
    );

    // Kill a node: it comes back (with its data dir) and the cluster heals.
    let incarnation = cluster.member_incarnation(1).await;
    cluster.kill_member(1).await;
    eventually(
        "the killed member runs again",
        Duration::from_secs(120),
        || async {
            let now = cluster.member_incarnation(1).await;
            now.is_some() && now != incarnation
        },
    )
    .await;
    eventually(
        "the cluster is Available again",
        Duration::from_secs(180),
        || {
            let client = client.clone();
            let namespace = namespace.clone();
            let name = name.clone();
            async move {
                let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
                let ready = pods.get(&format!("{name}-1")).await.is_ok_and(|pod| {
                    pod.status
                        .and_then(|status| status.conditions)
                        .is_some_and(|conditions| {
                            conditions.iter().any(|condition| {
                                condition.type_ == "Ready" && condition.status == "True"
                            })
                        })
                });
                ready && available(&client, &namespace, &name).await
            }
        },
    )
    .await;
    let mut healed = redis_connection(&cluster.endpoint(1).await).await;
    let value: String = healed.get("key7").await.unwrap();
    assert_eq!(value, "value7", "the restarted member serves the data");
    let _: () = healed.set("after-heal", "yes").await.unwrap();

    // Delete the CacheCluster: everything it owns is collected and the members stop.
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &cache_cluster_resource());
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    eventually(
        "owned objects are garbage-collected",
        Duration::from_secs(120),
        || {
            let client = client.clone();
            let namespace = namespace.clone();
            let name = name.clone();
            async move {
                let owned = ListParams::default()
                    .labels(&format!("app.kubernetes.io/managed-by=ringcache-operator,app.kubernetes.io/instance={name}"));
                let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
                let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
                let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
                let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
                let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &namespace);
                statefulsets.list(&owned).await.unwrap().items.is_empty()
                    && services.list(&owned).await.unwrap().items.is_empty()
                    && configmaps.list(&owned).await.unwrap().items.is_empty()
                    && secrets.list(&owned).await.unwrap().items.is_empty()
                    && policies.list(&owned).await.unwrap().items.is_empty()
            }
        },
    )
    .await;
    eventually("members stop", Duration::from_secs(120), || {
        cluster.members_stopped()
    })
    .await;
    cluster.shutdown().await;
}

/// The helm binary the tests use (installed by scripts/install-deps.sh).
fn helm() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("RINGCACHE_HELM") {
        return path.into();
    }
    let cached = std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/ringcache/bin/helm");
    if cached.is_file() {
        cached
    } else {
        "helm".into()
    }
}

/// The operator runs with exactly the RBAC the Helm chart renders (the stand-in enforces it and
/// answers 403 for anything else): it must still form and serve the cluster, and scaling works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_works_under_the_charts_rbac() {
    if real_cluster() {
        eprintln!("RINGCACHE_E2E_REAL=1: skipped (the real cluster has its own RBAC)");
        return;
    }
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/ringcache-operator");
    let rendered = std::process::Command::new(helm())
        .args(["template", "rc", chart, "--namespace", "ringcache-system"])
        .output()
        .expect("helm runs (scripts/install-deps.sh installs it into ~/.cache/ringcache/bin)");
    assert!(
        rendered.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let manifests = String::from_utf8(rendered.stdout).unwrap();
    let cluster = start_local(62, Some(manifests)).await;
    let mut connection = redis_connection(&cluster.endpoint(2).unwrap()).await;
    let _: () = connection.set("rbac", "enough").await.unwrap();
    let value: String = connection.get("rbac").await.unwrap();
    assert_eq!(value, "enough");
    let log = std::fs::read_to_string(
        std::env::temp_dir()
            .join(format!("ringcache-e2e-{}-62", std::process::id()))
            .join("operator.log"),
    )
    .unwrap_or_default();
    // Not a bare "403": log timestamps (…54.940339Z) contain it.
    assert!(
        !log.contains("code: 403") && !log.contains("Forbidden"),
        "the operator was denied something under the chart's RBAC:\n{log}"
    );
    cluster.shutdown().await;
}
