//! `ringcache-operator crd` and `ringcache-operator run` driven through the real binary (including
//! how `run` refuses a missing or short operator key), plus the objects the builders produce for the
//! full example (the cluster's Secret and NetworkPolicy among them), validated against Kubernetes
//! 1.37's schemas with `kubernetes-validate --strict` when it is installed (scripts/install-deps.sh
//! installs it; scripts/test.sh puts it on PATH).

use ringcache_operator::api::CacheCluster;
use ringcache_operator::build::statefulset::build_statefulset;
use ringcache_operator::build::{
    ClusterIdentity, DesiredCluster, OperatorPods, cluster_secret::build_cluster_secret,
    configmap::build_configmap, network_policy::build_network_policy, pdb::build_pdb,
    service_account::build_service_account, services::build_client_service,
    services::build_headless_service,
};
use ringcache_operator::key::OperatorKey;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A key file of `contents` in a fresh directory; the directory goes with the returned guard.
struct KeyFile(PathBuf);

impl KeyFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ringcache-operator-cli-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, contents).unwrap();
        KeyFile(path)
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `ringcache-operator run` with `args`, outside any cluster; returns the exit code and what it
/// printed (errors on stderr, logs on stdout).
fn run_outside_a_cluster(args: &[&str], envs: &[(&str, &Path)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ringcache-operator"));
    command
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--leader-election",
            "false",
        ])
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("RINGCACHE_CLUSTER_KEY_FILE")
        .env_remove("POD_NAMESPACE")
        .env_remove("RINGCACHE_OPERATOR_POD_SELECTOR");
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

#[test]
fn crd_subcommand_prints_the_committed_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_ringcache-operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(repo_file("crds/cacheclusters.cache.ringcache.dev.yaml")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

#[test]
fn run_without_a_cluster_fails_cleanly() {
    let key = KeyFile::new("cluster", b"0123456789abcdef0123456789abcdef\n");
    let (code, stderr) =
        run_outside_a_cluster(&["--cluster-key-file", key.0.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot create a Kubernetes client"),
        "{stderr}"
    );
    // Outside a cluster the operator does not know its namespace, and says what that means.
    assert!(stderr.contains("admit no operator"), "{stderr}");
    // The key file may come from the environment too.
    let (code, stderr) =
        run_outside_a_cluster(&[], &[("RINGCACHE_CLUSTER_KEY_FILE", key.0.as_path())]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot create a Kubernetes client"),
        "{stderr}"
    );
}

#[test]
fn run_refuses_to_start_without_a_usable_key() {
    let (code, stderr) = run_outside_a_cluster(&[], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no operator key: pass --cluster-key-file"),
        "{stderr}"
    );
    assert!(stderr.contains("Helm chart"), "{stderr}");
    assert!(
        !stderr.contains("Kubernetes client"),
        "the key is checked first: {stderr}"
    );

    let short = KeyFile::new("short", b"too short\n");
    let (code, stderr) =
        run_outside_a_cluster(&["--cluster-key-file", short.0.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("holds 9 bytes; it needs at least 32"),
        "{stderr}"
    );

    let empty = KeyFile::new("empty", b"\n");
    let (code, stderr) =
        run_outside_a_cluster(&["--cluster-key-file", empty.0.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is empty"), "{stderr}");

    let (code, stderr) =
        run_outside_a_cluster(&["--cluster-key-file", "/nonexistent/ringcache/key"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read the operator key"), "{stderr}");
}

#[test]
fn run_refuses_a_pod_selector_without_a_namespace_and_a_bad_selector() {
    let key = KeyFile::new("selector", b"0123456789abcdef0123456789abcdef");
    let key_path = key.0.to_str().unwrap();
    let (code, stderr) = run_outside_a_cluster(
        &[
            "--cluster-key-file",
            key_path,
            "--operator-pod-selector",
            "app.kubernetes.io/name=ringcache-operator",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("pass --operator-namespace"), "{stderr}");
    let (code, stderr) = run_outside_a_cluster(
        &[
            "--cluster-key-file",
            key_path,
            "--operator-pod-selector",
            "app!=x",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--operator-pod-selector"), "{stderr}");
}

#[test]
fn run_help_lists_the_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_ringcache-operator"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--namespace",
        "--metrics-addr",
        "--leader-election",
        "--lease-name",
        "--lease-namespace",
        "--cluster-key-file",
        "--operator-namespace",
        "--operator-pod-selector",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn built_objects_pass_kubernetes_validate_strict() {
    if Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("kubernetes-validate not installed; skipped (scripts/test.sh installs it)");
        return;
    }
    let text = std::fs::read_to_string(repo_file("examples/cachecluster-full.yaml")).unwrap();
    let mut cluster: CacheCluster = serde_yaml::from_str(&text).unwrap();
    cluster.metadata.uid = Some("0b1c2d3e-0000-4000-8000-000000000001".to_owned());
    let identity = ClusterIdentity::of(&cluster).unwrap();
    let key = OperatorKey::from_file_contents(Path::new("key"), &[7; 32]).unwrap();
    // The full example sets clients and monitoring peers; the operator peer is what the chart passes.
    assert!(cluster.spec.network_policy.clients.is_some());
    assert!(cluster.spec.network_policy.monitoring.is_some());
    let desired = DesiredCluster {
        cluster_secret: key.cluster_secret(&identity),
        operator: OperatorPods {
            namespace: Some("ringcache-system".to_owned()),
            labels: Some(
                ringcache_operator::cli::parse_label_selector(
                    "app.kubernetes.io/name=ringcache-operator,app.kubernetes.io/instance=rc",
                )
                .unwrap(),
            ),
        },
        identity,
        claim_size: cluster.spec.persistence.size.clone(),
        statefulset_replicas: cluster.spec.replicas,
        ring_members: cluster.spec.replicas,
        ring_version: 1,
        max_memory_bytes: 805_306_368,
        cluster,
    };
    // Outside a cluster (no operator peer) and with the clients' defaults, too.
    let mut plain = desired.clone();
    plain.operator = OperatorPods::default();
    plain.cluster.spec.network_policy.clients = None;
    plain.cluster.spec.network_policy.monitoring = None;
    plain.identity.name = "plain".to_owned();
    let documents = [
        serde_yaml::to_string(&build_service_account(&desired)).unwrap(),
        serde_yaml::to_string(&build_cluster_secret(&desired)).unwrap(),
        serde_yaml::to_string(&build_configmap(&desired)).unwrap(),
        serde_yaml::to_string(&build_headless_service(&desired)).unwrap(),
        serde_yaml::to_string(&build_client_service(&desired)).unwrap(),
        serde_yaml::to_string(&build_network_policy(&desired).unwrap()).unwrap(),
        serde_yaml::to_string(&build_network_policy(&plain).unwrap()).unwrap(),
        serde_yaml::to_string(&build_statefulset(&desired)).unwrap(),
        serde_yaml::to_string(&build_pdb(&desired).unwrap()).unwrap(),
    ];
    let path = std::env::temp_dir().join(format!("ringcache-built-{}.yaml", std::process::id()));
    std::fs::write(&path, documents.join("---\n")).unwrap();
    let output = Command::new("kubernetes-validate")
        .args(["-k", "1.37.0", "--strict"])
        .arg(&path)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "{report}");
    assert_eq!(
        report.matches(" passed for resource ").count(),
        documents.len(),
        "{report}"
    );
    for resource in [
        "secret/demo-full-cluster-secret",
        "networkpolicy/demo-full",
        "networkpolicy/plain",
    ] {
        assert!(
            report.contains(&format!("passed for resource {resource} ")),
            "{resource} not validated: {report}"
        );
    }
}
