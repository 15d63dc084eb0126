//! End to end with `spec.tls`: the operator mounts a `kubernetes.io/tls` Secret made with a CA of
//! the test, the members form, replicate (mutual TLS on the cluster port) and serve `redis-cli
//! --tls` through any member; the cluster scales out and survives a killed member, all over TLS.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use ringcache_e2e::local::{
    ControlPlane, LocalCluster, LocalOptions, cache_cluster_resource, condition_true,
    sibling_binary,
};

const SUBNET: u8 = 91;
const NAME: &str = "secure";

/// A CA and a server certificate for the pods' addresses (the local pod runner gives the
/// cluster's pods 127.<SUBNET>.1.<ordinal + 1>) and the names a real cluster would use.
fn certificates() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ringcache e2e CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut names: Vec<String> = (1..=8)
        .map(|host| format!("127.{SUBNET}.1.{host}"))
        .collect();
    names.push(format!("*.{NAME}-nodes.default.svc"));
    names.push(format!("{NAME}.default.svc"));
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), ca.pem())
}

fn redis_cli(ca: &Path, host: &str, extra: &[&str], args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("redis-cli")
        .arg("--tls")
        .arg("--cacert")
        .arg(ca)
        .args(["-h", host, "-p", "6379"])
        .args(extra)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run redis-cli: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success()
        && !stdout.is_empty()
        && !stdout.starts_with("ERR")
        && !stdout.starts_with("TRYAGAIN")
        && !stdout.starts_with("CLUSTERDOWN")
        && !stdout.contains("Could not")
    {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout} {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// redis-cli over TLS, retried for up to a minute (a member restarting, a leader moving).
async fn cli(ca: &Path, host: &str, extra: &'static [&'static str], args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ca, target, args) = (
            ca.to_path_buf(),
            host.to_owned(),
            args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>(),
        );
        let answer = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            redis_cli(&ca, &target, extra, &args)
        })
        .await
        .unwrap();
        match answer {
            Ok(text) => return text,
            Err(error) => {
                assert!(Instant::now() < deadline, "redis-cli on {host}: {error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_forms_serves_scales_and_heals() {
    let state_dir = std::env::temp_dir().join(format!("ringcache-e2e-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::create_dir_all(&state_dir).unwrap();
    let (cert, key, ca) = certificates();
    let ca_file = state_dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let manifest = state_dir.join("cachecluster.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: cache.ringcache.dev/v1alpha1\nkind: CacheCluster\nmetadata:\n  name: {NAME}\n\
             spec:\n  replicas: 3\n  partitions: 16\n  tls:\n    secretName: {NAME}-tls\n"
        ),
    )
    .unwrap();
    let mut cluster = LocalCluster::start(LocalOptions {
        manifest,
        state_dir: state_dir.clone(),
        node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
        operator_binary: sibling_binary("ringcache-operator", "RINGCACHE_OPERATOR_BIN"),
        second_octet: SUBNET,
        timeout: Duration::from_secs(240),
        operator_rbac: None,
        control_plane: ControlPlane::from_env(),
    })
    .await
    .expect("local cluster starts (cargo build -p ringcache-node -p ringcache-operator)");

    // The certificate, as cert-manager would write it (the pods wait for it to exist).
    let secrets: Api<Secret> = Api::namespaced(cluster.client(), cluster.namespace());
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(format!("{NAME}-tls")),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(
            [("tls.crt", cert), ("tls.key", key), ("ca.crt", ca)]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), ByteString(value.into_bytes())))
                .collect(),
        ),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the TLS Secret");
    cluster
        .wait_available(|progress| eprintln!("e2e tls: {progress}"))
        .await
        .expect("the TLS cluster becomes Available");

    // Every partition through member 0 (forwarded over TLS), read back cluster-aware elsewhere.
    let host = |ordinal: u32| format!("127.{SUBNET}.1.{}", ordinal + 1);
    let keys: Vec<String> = (0..48).map(|index| format!("tls-key-{index}")).collect();
    for key in &keys {
        assert_eq!(cli(&ca_file, &host(0), &[], &["SET", key, key]).await, "OK");
    }
    for key in &keys {
        assert_eq!(cli(&ca_file, &host(2), &["-c"], &["GET", key]).await, *key);
    }

    // Scale out to 4: the new member joins and receives replicas over mutual TLS.
    let clusters: Api<DynamicObject> = Api::namespaced_with(
        cluster.client(),
        cluster.namespace(),
        &cache_cluster_resource(),
    );
    clusters
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("scale to 4");
    wait_for(
        "the scale-out to settle",
        Duration::from_secs(240),
        async || {
            let Ok(object) = clusters.get(NAME).await else {
                return false;
            };
            let status = object.data.get("status");
            status
                .and_then(|status| status.get("ringMembers"))
                .and_then(serde_json::Value::as_i64)
                == Some(4)
                && condition_true(status, "Available")
                && !condition_true(status, "Rebalancing")
        },
    )
    .await;
    assert_eq!(
        cli(&ca_file, &host(3), &[], &["GET", &keys[0]]).await,
        keys[0]
    );

    // Kill a member: the others keep serving over TLS, and it comes back.
    let pod = format!("{NAME}-1");
    let pid = cluster
        .runner()
        .pod_pid(cluster.namespace(), &pod)
        .expect("member 1 runs");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    for key in keys.iter().take(16) {
        assert_eq!(cli(&ca_file, &host(0), &[], &["GET", key]).await, *key);
    }
    wait_for(
        "member 1 back and the cluster Available",
        Duration::from_secs(180),
        async || {
            let restarted = cluster
                .runner()
                .pod_pid(cluster.namespace(), &pod)
                .is_some_and(|new| new != pid);
            restarted
                && clusters
                    .get(NAME)
                    .await
                    .is_ok_and(|object| condition_true(object.data.get("status"), "Available"))
        },
    )
    .await;
    for key in &keys {
        assert_eq!(cli(&ca_file, &host(1), &["-c"], &["GET", key]).await, *key);
    }
    cluster.kill_operator().await;
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(&state_dir);
}
