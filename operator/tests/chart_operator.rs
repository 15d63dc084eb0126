//! What the Helm chart tells the operator about itself, against what the chart renders (real
//! `helm template`, see `chart/mod.rs`):
//!
//! - the operator key: the generated Secret (random, kept on uninstall) or the user's, mounted
//!   read-only where `--cluster-key-file` points, readable by the operator's user;
//! - where the operator runs: `--operator-pod-selector` selects exactly the Deployment's pods, and the
//!   operator's namespace comes from the downward API; so the NetworkPolicy the operator builds from
//!   those flags admits the rendered operator pods to the members' admin port.
//!
//! The flags are parsed by the operator's own command line (`Cli`), so a flag the binary would refuse
//! fails here too.

mod chart;

use chart::{RELEASE_NAMESPACE, render};
use clap::Parser;
use k8s_openapi::ByteString;
use ringcache_operator::api::{CacheCluster, CacheClusterSpec};
use ringcache_operator::build::network_policy::build_network_policy;
use ringcache_operator::build::{ClusterIdentity, DesiredCluster, OperatorPods};
use ringcache_operator::cli::{Cli, Command, LabelMap, RunArgs};
use ringcache_operator::key::OperatorKey;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, key| value.get(*key))?
        .as_str()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|doc| text(doc, &["kind"]) == Some(kind))
        .collect()
}

fn labels(value: &Value) -> LabelMap {
    serde_yaml::from_value(value.clone()).unwrap_or_default()
}

/// The operator's Deployment and its `run` flags as the operator parses them.
fn deployment_and_args(docs: &[Value]) -> (&Value, RunArgs) {
    let deployments = of_kind(docs, "Deployment");
    assert_eq!(deployments.len(), 1);
    let deployment = deployments[0];
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = serde_yaml::from_value(container["args"].clone()).unwrap();
    let cli = Cli::try_parse_from(std::iter::once("ringcache-operator".to_owned()).chain(args))
        .unwrap_or_else(|error| panic!("the chart's flags do not parse: {error}"));
    let Command::Run(run) = cli.command else {
        panic!("the chart does not start `run`")
    };
    (deployment, run)
}

/// The env variable `name` of the operator container.
fn env<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|variable| text(variable, &["name"]) == Some(name))
        .unwrap_or_else(|| panic!("no env {name}"))
}

/// The Secret name and key the file at `path` comes from, and the volume's mode, following the
/// container's read-only mounts to the pod's secret volumes.
fn key_source(deployment: &Value, path: &Path) -> (String, String, i64) {
    let pod = &deployment["spec"]["template"]["spec"];
    let mounts = pod["containers"][0]["volumeMounts"].as_sequence().unwrap();
    let mount = mounts
        .iter()
        .find(|mount| path.starts_with(text(mount, &["mountPath"]).unwrap()))
        .unwrap_or_else(|| panic!("{} is on no mounted volume", path.display()));
    assert_eq!(
        mount["readOnly"],
        Value::Bool(true),
        "the key is mounted read-only"
    );
    let file = path
        .strip_prefix(text(mount, &["mountPath"]).unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let volume = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|volume| volume["name"] == mount["name"])
        .unwrap();
    let secret = &volume["secret"];
    let item = secret["items"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|item| text(item, &["path"]) == Some(file.as_str()))
        .unwrap_or_else(|| panic!("no item writes {file}"));
    (
        text(secret, &["secretName"]).unwrap().to_owned(),
        text(item, &["key"]).unwrap().to_owned(),
        secret["defaultMode"].as_i64().unwrap(),
    )
}

/// Whether pods with `pod_labels` are selected by `selector` (matchLabels only).
fn selects(selector: &LabelMap, pod_labels: &LabelMap) -> bool {
    selector
        .iter()
        .all(|(key, value)| pod_labels.get(key) == Some(value))
}

/// The operator's pods as the operator knows them in a pod of `deployment`: its namespace from the
/// downward API, its labels from the flag.
fn operator_pods(deployment: &Value, run: &RunArgs) -> OperatorPods {
    assert_eq!(
        text(
            env(deployment, "POD_NAMESPACE"),
            &["valueFrom", "fieldRef", "fieldPath"]
        ),
        Some("metadata.namespace"),
        "the operator's namespace comes from the downward API"
    );
    // The pod's namespace is the Deployment's.
    let mut run = run.clone();
    run.operator_namespace = Some(
        text(deployment, &["metadata", "namespace"])
            .unwrap()
            .to_owned(),
    );
    ringcache_operator::controller::operator_pods(&run).unwrap()
}

#[test]
fn the_operator_pod_selector_is_the_deployments_own_and_the_namespace_is_passed() {
    for values in [
        &[][..],
        &["nameOverride=cache-op", "podLabels.team=platform"][..],
        &["fullnameOverride=ops", "watchNamespaces={cache}"][..],
    ] {
        let docs = render(values);
        let (deployment, run) = deployment_and_args(&docs);
        let selector = run
            .operator_pod_selector
            .clone()
            .expect("--operator-pod-selector is passed");
        let pod_labels = labels(&deployment["spec"]["template"]["metadata"]["labels"]);
        assert!(
            selects(&selector, &pod_labels),
            "{values:?}: {selector:?} vs {pod_labels:?}"
        );
        // Exactly the Deployment's selector: no more (it would miss pods), no less (it would admit
        // other releases' pods).
        assert_eq!(
            selector,
            labels(&deployment["spec"]["selector"]["matchLabels"]),
            "{values:?}"
        );
        let pods = operator_pods(deployment, &run);
        assert_eq!(pods.namespace.as_deref(), Some(RELEASE_NAMESPACE));
        assert_eq!(pods.labels.as_ref(), Some(&selector));
    }
}

#[test]
fn the_network_policy_built_from_the_charts_flags_admits_the_rendered_operator_pods() {
    let docs = render(&["podLabels.team=platform"]);
    let (deployment, run) = deployment_and_args(&docs);
    let spec: CacheClusterSpec =
        serde_json::from_value(serde_json::json!({"replicas": 3})).unwrap();
    let mut cluster = CacheCluster::new("demo", spec);
    cluster.metadata.namespace = Some("cache".to_owned());
    cluster.metadata.uid = Some("0b1c2d3e-0000-4000-8000-000000000001".to_owned());
    let identity = ClusterIdentity::of(&cluster).unwrap();
    let key = OperatorKey::from_file_contents(Path::new("key"), &[1; 32]).unwrap();
    let desired = DesiredCluster {
        cluster_secret: key.cluster_secret(&identity),
        operator: operator_pods(deployment, &run),
        identity,
        claim_size: "1Gi".to_owned(),
        statefulset_replicas: 3,
        ring_members: 3,
        ring_version: 1,
        max_memory_bytes: 0,
        cluster,
    };
    let policy = build_network_policy(&desired).unwrap();
    let spec = policy.spec.unwrap();
    let admin = spec
        .ingress
        .unwrap()
        .into_iter()
        .find(|rule| {
            rule.ports.iter().flatten().any(|port| {
                port.port
                    == Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(9090))
            })
        })
        .unwrap();
    // The namespace the operator's pods run in, with its automatic name label.
    let namespace_labels = BTreeMap::from([(
        "kubernetes.io/metadata.name".to_owned(),
        text(deployment, &["metadata", "namespace"])
            .unwrap()
            .to_owned(),
    )]);
    let pod_labels = labels(&deployment["spec"]["template"]["metadata"]["labels"]);
    let admitted = admin.from.unwrap().into_iter().any(|peer| {
        let in_namespace = peer.namespace_selector.is_some_and(|selector| {
            selects(
                &selector.match_labels.unwrap_or_default(),
                &namespace_labels,
            )
        });
        let pod = peer.pod_selector.is_some_and(|selector| {
            selects(&selector.match_labels.unwrap_or_default(), &pod_labels)
        });
        in_namespace && pod
    });
    assert!(
        admitted,
        "the rendered operator pods are not admitted to port 9090"
    );
}

#[test]
fn the_generated_key_is_random_kept_and_mounted_where_the_flag_points() {
    let docs = render(&[]);
    let (deployment, run) = deployment_and_args(&docs);
    let path = run
        .cluster_key_file
        .clone()
        .expect("--cluster-key-file is passed");
    let (secret_name, key, mode) = key_source(deployment, &path);
    assert_eq!(secret_name, "ringcache-ringcache-operator-key");
    assert_eq!(key, "key");
    assert_eq!(mode, 0o440);
    // Group-readable only helps when the group is the operator's.
    let security = &deployment["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(security["fsGroup"], security["runAsUser"]);

    let secrets = of_kind(&docs, "Secret");
    assert_eq!(secrets.len(), 1, "the key is the chart's only Secret");
    let secret = secrets[0];
    assert_eq!(
        text(secret, &["metadata", "name"]),
        Some(secret_name.as_str())
    );
    assert_eq!(
        text(secret, &["metadata", "namespace"]),
        Some(RELEASE_NAMESPACE)
    );
    assert_eq!(
        text(
            secret,
            &["metadata", "annotations", "helm.sh/resource-policy"]
        ),
        Some("keep"),
        "uninstall keeps the key, as it keeps the CRD and the CacheClusters"
    );
    let encoded = text(secret, &["data", "key"]).unwrap();
    let value: ByteString = serde_json::from_value(serde_json::json!(encoded)).unwrap();
    assert_eq!(value.0.len(), 64);
    assert!(value.0.iter().all(u8::is_ascii_alphanumeric));
    // What the operator would read from the mounted file is a usable key.
    OperatorKey::from_file_contents(&path, &value.0).unwrap();
    // A render without a cluster to look the Secret up in makes a new one every time (helm
    // upgrade finds and keeps the installed one: e2e/tests/real_control_plane.rs).
    let again = render(&[]);
    assert_ne!(
        text(of_kind(&again, "Secret")[0], &["data", "key"]),
        Some(encoded)
    );
}

#[test]
fn an_existing_key_secret_replaces_the_generated_one() {
    let docs = render(&[
        "operatorKey.existingSecret=my-operator-key",
        "operatorKey.existingSecretKey=operator.key",
    ]);
    assert!(
        of_kind(&docs, "Secret").is_empty(),
        "no Secret is generated"
    );
    let (deployment, run) = deployment_and_args(&docs);
    let (secret_name, key, _) = key_source(deployment, &run.cluster_key_file.unwrap());
    assert_eq!(
        (secret_name.as_str(), key.as_str()),
        ("my-operator-key", "operator.key")
    );
}
