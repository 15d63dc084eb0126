//! Through a real kube-apiserver and kube-controller-manager (built by `scripts/install-kube.sh`):
//! `helm install` of the operator chart (CRD, ServiceAccount, RBAC and the operator key Secret applied
//! by Helm; `helm upgrade` keeps the key), the operator as a process authenticated with that
//! ServiceAccount's token and given the chart's key, the pod runner as the only kubelet, and what a
//! user does with kubectl: `explain`, `apply`, `wait --for=condition=Available`, a `scale` below
//! `replicationFactor` refused by the CRD's CEL rule, a 403 for a call outside the operator's RBAC
//! table (reading Secrets, its own cluster Secret included), and the cluster's Secret holding the
//! secret derived from the chart's key.
//!
//! Without the binaries the tests print why and pass, unless `RINGCACHE_E2E_REQUIRE_REAL=1` (set by
//! `scripts/test.sh`, which always installs them) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams};
use ringcache_e2e::control_plane::{
    ADMIN_USER, ControlPlaneOptions, KubeBinaries, RealControlPlane,
};
use ringcache_e2e::credentials::{read_cluster_secret, write_operator_key};
use ringcache_e2e::local::{NODE_NAME, sibling_binary};
use ringcache_e2e::pods::{PodRunner, PodRunnerMode, PodRunnerOptions};

const RELEASE_NAMESPACE: &str = "ringcache-system";

/// Whether the binaries are there; without them, a printed reason (or a failure when required).
fn binaries_present() -> bool {
    match KubeBinaries::find() {
        Ok(_) => true,
        Err(error) if std::env::var("RINGCACHE_E2E_REQUIRE_REAL").as_deref() == Ok("1") => {
            panic!("RINGCACHE_E2E_REQUIRE_REAL=1: {error}")
        }
        Err(error) => {
            println!("SKIPPED: {error}");
            false
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// A tool installed by scripts/install-deps.sh into ~/.cache/ringcache/bin, else from PATH.
fn tool(name: &str, variable: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return path.into();
    }
    let cached = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/ringcache/bin")
        .join(name);
    if cached.is_file() {
        cached
    } else {
        name.into()
    }
}

/// Output of a command run off the async runtime: (success, stdout, stderr).
async fn run(program: PathBuf, args: Vec<String>, home: &Path) -> (bool, String, String) {
    let mut command = std::process::Command::new(&program);
    command
        .args(&args)
        .current_dir(repo_root())
        // A private HOME keeps kubectl's and helm's caches out of the user's.
        .env("HOME", home)
        .env_remove("KUBECONFIG");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("command task")
        .unwrap_or_else(|error| panic!("{} runs: {error}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    println!(
        "$ {} {}\n{stdout}{stderr}",
        program.display(),
        args.join(" ")
    );
    (output.status.success(), stdout, stderr)
}

struct Kubectl {
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.push(format!("--kubeconfig={}", self.kubeconfig.display()));
        run(tool("kubectl", "RINGCACHE_KUBECTL"), all, &self.home).await
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(ok, "kubectl {} failed:\n{stdout}\n{stderr}", args.join(" "));
        stdout
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installed_operator_and_kubectl_against_the_real_api_server() {
    if !binaries_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ringcache-real-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let plane = RealControlPlane::start(ControlPlaneOptions::new(dir.join("control-plane")))
        .await
        .expect("the real control plane starts");
    let admin_kubeconfig = dir.join("kubeconfig");
    plane
        .write_kubeconfig(&admin_kubeconfig, ADMIN_USER, plane.admin_token())
        .unwrap();
    let admin = plane.admin_client().await.unwrap();
    let kubectl = Kubectl {
        kubeconfig: admin_kubeconfig.clone(),
        home: dir.clone(),
    };
    let version = kubectl.ok(&["version", "-o", "json"]).await;
    assert!(version.contains("\"gitVersion\": \"v1.37.2\""), "{version}");

    // Helm applies the chart's CRD, ServiceAccount and RBAC (its Deployment gets no pods: there is
    // no Deployment controller; the operator runs below as a process with the account's token).
    let chart = repo_root().join("charts/ringcache-operator");
    let (installed, stdout, stderr) = run(
        tool("helm", "RINGCACHE_HELM"),
        [
            "install",
            "rc",
            &chart.display().to_string(),
            "--namespace",
            RELEASE_NAMESPACE,
            "--create-namespace",
            "--kubeconfig",
            &admin_kubeconfig.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec(),
        &dir,
    )
    .await;
    assert!(installed, "helm install failed:\n{stdout}\n{stderr}");

    // The chart generated the operator key; `helm upgrade` (which can look the Secret up, unlike
    // `helm template`) keeps it. The operator process below gets it as the chart's pod would.
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), RELEASE_NAMESPACE);
    let key_secret = "rc-ringcache-operator-key";
    let key_of = |secret: Secret| {
        secret
            .data
            .and_then(|data| data.get("key").cloned())
            .expect("the key Secret has `key`")
            .0
    };
    let key = key_of(
        secrets
            .get(key_secret)
            .await
            .expect("the chart made the key Secret"),
    );
    assert_eq!(key.len(), 64);
    let (upgraded, stdout, stderr) = run(
        tool("helm", "RINGCACHE_HELM"),
        [
            "upgrade",
            "rc",
            &chart.display().to_string(),
            "--namespace",
            RELEASE_NAMESPACE,
            "--kubeconfig",
            &admin_kubeconfig.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec(),
        &dir,
    )
    .await;
    assert!(upgraded, "helm upgrade failed:\n{stdout}\n{stderr}");
    assert_eq!(
        key_of(secrets.get(key_secret).await.unwrap()),
        key,
        "helm upgrade changed the operator key"
    );
    let key_file = dir.join("operator-key");
    write_operator_key(&key_file, &key).unwrap();

    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), RELEASE_NAMESPACE);
    let account = accounts
        .list(&ListParams::default().labels("app.kubernetes.io/instance=rc"))
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("the chart made a ServiceAccount");
    let account_name = account.metadata.name.unwrap();
    let token = plane
        .service_account_token(RELEASE_NAMESPACE, &account_name)
        .await
        .unwrap();
    let operator_user = format!("system:serviceaccount:{RELEASE_NAMESPACE}:{account_name}");
    let operator_kubeconfig = dir.join("operator-kubeconfig");
    plane
        .write_kubeconfig(&operator_kubeconfig, &operator_user, &token)
        .unwrap();

    // kubectl explain reads the CRD's schema from the real OpenAPI (published a moment after the
    // CRD is established).
    let deadline = Instant::now() + Duration::from_secs(60);
    let explained = loop {
        let (ok, stdout, _) = kubectl.run(&["explain", "cachecluster.spec"]).await;
        if ok {
            break stdout;
        }
        assert!(Instant::now() < deadline, "kubectl explain never worked");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(explained.contains("replicationFactor"), "{explained}");
    assert!(explained.contains("KIND:     CacheCluster") || explained.contains("CacheCluster"));

    let runner = PodRunner::start(
        admin.clone(),
        PodRunnerOptions {
            node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
            state_dir: dir.clone(),
            second_octet: 63,
            mode: PodRunnerMode::Kubelet {
                node_name: NODE_NAME.to_owned(),
            },
        },
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("operator.log")).unwrap();
    let mut operator = tokio::process::Command::new(sibling_binary(
        "ringcache-operator",
        "RINGCACHE_OPERATOR_BIN",
    ))
    .args([
        "run",
        "--leader-election=false",
        "--metrics-addr=127.0.0.1:0",
    ])
    .arg(format!("--cluster-key-file={}", key_file.display()))
    .env_remove("POD_NAMESPACE")
    .env("KUBECONFIG", &operator_kubeconfig)
    .env("RUST_LOG", "info")
    .stdin(Stdio::null())
    .stdout(log.try_clone().unwrap())
    .stderr(log)
    .kill_on_drop(true)
    .spawn()
    .expect("the operator starts");

    kubectl
        .ok(&["apply", "-f", "examples/cachecluster.yaml"])
        .await;
    kubectl
        .ok(&[
            "wait",
            "--for=condition=Available",
            "cachecluster/demo",
            "--timeout=300s",
        ])
        .await;

    // The CRD's CEL rule runs on the scale subresource too.
    let (scaled, stdout, stderr) = kubectl
        .run(&["scale", "cachecluster/demo", "--replicas=2"])
        .await;
    assert!(
        !scaled,
        "a scale below replicationFactor was accepted:\n{stdout}"
    );
    assert!(
        stderr.contains("replicas must be at least replicationFactor"),
        "not the CRD's message:\n{stderr}"
    );
    let replicas = kubectl
        .ok(&[
            "get",
            "cachecluster/demo",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(replicas, "3");

    // The operator's account under the chart's RBAC: what the table grants works (the cluster is
    // Available), anything else is 403.
    let operator_client = plane
        .client_with_token(&operator_user, &token)
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(operator_client.clone(), "default");
    match secrets.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(
                status.message.contains(&format!(
                    "User \"{operator_user}\" cannot list resource \"secrets\""
                )),
                "{}",
                status.message
            );
        }
        other => panic!("listing secrets as the operator: {other:?}"),
    }
    // It wrote the cluster's Secret (the secret derived from its key) but may not read it back.
    match secrets.get("demo-cluster-secret").await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403, "{status:?}"),
        other => panic!("reading the cluster's Secret as the operator: {other:?}"),
    }
    let clusters: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        "default",
        &ringcache_e2e::local::cache_cluster_resource(),
    );
    let uid = clusters.get("demo").await.unwrap().metadata.uid.unwrap();
    assert_eq!(
        read_cluster_secret(&admin, "default", "demo")
            .await
            .unwrap(),
        ringcache_admin::derive_cluster_secret(&key, "default", "demo", &uid),
        "the Secret holds the secret derived from the chart's key"
    );
    let policies: Api<NetworkPolicy> = Api::namespaced(admin.clone(), "default");
    assert!(
        policies.get_opt("demo").await.unwrap().is_some(),
        "no NetworkPolicy"
    );
    let statefulsets: Api<StatefulSet> = Api::namespaced(operator_client, "default");
    match statefulsets.delete("demo", &DeleteParams::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403, "{status:?}"),
        other => panic!("deleting a StatefulSet as the operator: {other:?}"),
    }
    let operator_log = std::fs::read_to_string(dir.join("operator.log")).unwrap_or_default();
    assert!(
        !operator_log.contains("code: 403") && !operator_log.contains("Forbidden"),
        "the operator was denied something under the chart's RBAC:\n{operator_log}"
    );

    // Reads and writes through a pod.
    let address = runner
        .pod_address("default", "demo-0")
        .expect("demo-0 runs");
    let client = redis::Client::open(format!("redis://{address}:6379/")).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("real")
        .arg("control plane")
        .query_async(&mut connection)
        .await
        .unwrap();
    let value: String = redis::cmd("GET")
        .arg("real")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(value, "control plane");

    // Deleting it: Kubernetes' garbage collector takes the StatefulSet and its pods.
    kubectl
        .ok(&["delete", "cachecluster/demo", "--timeout=120s"])
        .await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(admin.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(120);
    while statefulsets.get_opt("demo").await.unwrap().is_some()
        || runner.pod_address("default", "demo-0").is_some()
    {
        assert!(
            Instant::now() < deadline,
            "the StatefulSet or its pods outlived the CacheCluster"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let _ = operator.kill().await;
    runner.shutdown().await;
    plane.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
