//! End-to-end: the real operator binary reconciles a CacheCluster in the API stand-in, the pod
//! runner runs its pods as real `ringcache-node` processes, and a Redis client uses the result.
//!
//! Written against `kube::Client`. By default everything runs locally (`LocalCluster`); with
//! `RINGCACHE_E2E_REAL=1` and `KUBECONFIG` the scenario that needs no local process control
//! (apply → Available → read/write → delete → collected) runs against that cluster instead,
//! provided its pod IPs are reachable from here.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use redis::AsyncCommands;
use ringcache_e2e::local::{
    LocalCluster, LocalOptions, cache_cluster_resource, condition_true, sibling_binary,
};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cachecluster.yaml");

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
    if real_cluster() {
        eprintln!("RINGCACHE_E2E_REAL=1: the local scenario is skipped (it kills local processes)");
        return;
    }
    let mut cluster = start_local(61, None).await;
    let client = cluster.client();
    let namespace = cluster.namespace().to_owned();
    let name = cluster.name().to_owned();

    // Read and write through any pod's address.
    let endpoints: Vec<String> = (0..3)
        .map(|ordinal| cluster.endpoint(ordinal).unwrap())
        .collect();
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
    cluster.kill_operator().await;
    cluster.start_operator().unwrap();
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

    // Kill a node process: the runner restarts it (with its data dir) and the cluster heals.
    let pod = format!("{name}-1");
    let pid = cluster
        .runner()
        .pod_pid(&namespace, &pod)
        .expect("pod 1 runs");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    eventually(
        "the killed pod runs again",
        Duration::from_secs(60),
        || async {
            cluster
                .runner()
                .pod_pid(&namespace, &pod)
                .is_some_and(|new_pid| new_pid != pid)
        },
    )
    .await;
    eventually(
        "the cluster is Available again",
        Duration::from_secs(120),
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
    let mut healed = redis_connection(&endpoints[1]).await;
    let value: String = healed.get("key7").await.unwrap();
    assert_eq!(value, "value7", "the restarted member serves the data");
    let _: () = healed.set("after-heal", "yes").await.unwrap();

    // Delete the CacheCluster: everything it owns is collected and the processes stop.
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &cache_cluster_resource());
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    eventually(
        "owned objects are garbage-collected",
        Duration::from_secs(60),
        || {
            let client = client.clone();
            let namespace = namespace.clone();
            async move {
                let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
                let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
                let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
                let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
                let empty =
                    ListParams::default().labels("app.kubernetes.io/managed-by=ringcache-operator");
                statefulsets
                    .list(&ListParams::default())
                    .await
                    .unwrap()
                    .items
                    .is_empty()
                    && services.list(&empty).await.unwrap().items.is_empty()
                    && configmaps.list(&empty).await.unwrap().items.is_empty()
                    && pods
                        .list(&ListParams::default())
                        .await
                        .unwrap()
                        .items
                        .is_empty()
            }
        },
    )
    .await;
    eventually("pod processes stop", Duration::from_secs(60), || async {
        (0..3).all(|ordinal| {
            cluster
                .runner()
                .pod_address(&namespace, &format!("{name}-{ordinal}"))
                .is_none()
        })
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
    assert!(
        !log.contains("403") && !log.contains("Forbidden"),
        "the operator was denied something under the chart's RBAC:\n{log}"
    );
    cluster.shutdown().await;
}
