//! `ringcache-operator crd` and `ringcache-operator run` driven through the real binary, plus the
//! objects the builders produce for the full example, validated against Kubernetes 1.37's schemas
//! with `kubernetes-validate --strict` when it is installed (scripts/install-deps.sh installs it).

use ringcache_operator::api::CacheCluster;
use ringcache_operator::build::statefulset::build_statefulset;
use ringcache_operator::build::{
    ClusterIdentity, DesiredCluster, configmap::build_configmap, pdb::build_pdb,
    service_account::build_service_account, services::build_client_service,
    services::build_headless_service,
};
use std::path::PathBuf;
use std::process::Command;

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
    let output = Command::new(env!("CARGO_BIN_EXE_ringcache-operator"))
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--leader-election",
            "false",
        ])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot create a Kubernetes client"),
        "{stderr}"
    );
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
    let desired = DesiredCluster {
        identity: ClusterIdentity::of(&cluster).unwrap(),
        claim_size: cluster.spec.persistence.size.clone(),
        statefulset_replicas: cluster.spec.replicas,
        ring_members: cluster.spec.replicas,
        ring_version: 1,
        max_memory_bytes: 805_306_368,
        cluster,
    };
    let documents = [
        serde_yaml::to_string(&build_service_account(&desired)).unwrap(),
        serde_yaml::to_string(&build_configmap(&desired)).unwrap(),
        serde_yaml::to_string(&build_headless_service(&desired)).unwrap(),
        serde_yaml::to_string(&build_client_service(&desired)).unwrap(),
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
        6,
        "{report}"
    );
}
