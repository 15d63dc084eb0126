//! The generated CRD: `crds/` matches the Rust types, the examples parse, and the CEL rules
//! (`x-kubernetes-validations`) taken from the generated CRD accept good manifests and reject bad ones.
//!
//! The rules are evaluated with `kube-cel`, which implements Kubernetes' CEL environment (including
//! the `quantity` library) and applies the schema's defaults first, as the API server does.

use kube_cel::Validator;
use ringcache_operator::api::{CacheCluster, crd, crd_yaml};
use serde_json::{Value, json};
use std::path::PathBuf;

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn schema() -> Value {
    let crd = crd();
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|schema| schema.open_api_v3_schema.as_ref())
            .expect("the CRD has a schema"),
    )
    .unwrap()
}

fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_file(&format!("examples/{name}"))).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The CEL rule messages that reject `object` (updating `old` when given).
fn rejections(object: &Value, old: Option<&Value>) -> Vec<String> {
    match Validator::new().validate(&schema(), object, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|error| error.to_string()).collect(),
    }
}

fn with_spec(mut object: Value, patch: Value) -> Value {
    let spec = object["spec"].as_object_mut().unwrap();
    for (key, value) in patch.as_object().unwrap() {
        spec.insert(key.clone(), value.clone());
    }
    object
}

#[test]
fn generated_crd_file_matches_the_rust_types() {
    let path = repo_file("crds/cacheclusters.cache.ringcache.dev.yaml");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = crd_yaml().unwrap();
    assert!(
        on_disk == generated,
        "{} is stale: regenerate it with `cargo run -p ringcache-operator -- crd > crds/cacheclusters.cache.ringcache.dev.yaml`",
        path.display()
    );
}

#[test]
fn crd_has_the_fixed_names_subresources_and_columns() {
    let crd = serde_json::to_value(crd()).unwrap();
    assert_eq!(crd["metadata"]["name"], "cacheclusters.cache.ringcache.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["cc"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(
        version["subresources"]["scale"],
        json!({
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector"
        })
    );
    assert!(version["subresources"]["status"].is_object());
    let columns = |wide: bool| -> Vec<&str> {
        version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|column| {
                (column.get("priority").and_then(Value::as_i64).unwrap_or(0) > 0) == wide
            })
            .map(|column| column["name"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        columns(false),
        ["Desired", "Ready", "Phase", "Rebalance", "Ring", "Age"]
    );
    // `kubectl get cc -o wide` adds the health and the spread over members.
    assert_eq!(
        columns(true),
        [
            "Available",
            "Replicas/Member",
            "Leaders/Member",
            "Memory/Member"
        ]
    );
}

#[test]
fn every_spec_field_has_a_description() {
    fn walk(path: &str, node: &Value, missing: &mut Vec<String>) {
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                let child_path = format!("{path}.{name}");
                if child.get("description").is_none() {
                    missing.push(child_path.clone());
                }
                walk(&child_path, child, missing);
            }
        }
        if let Some(items) = node.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    walk("spec", &schema()["properties"]["spec"], &mut missing);
    walk("status", &schema()["properties"]["status"], &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

#[test]
fn examples_parse_and_pass_every_cel_rule() {
    for name in ["cachecluster.yaml", "cachecluster-full.yaml"] {
        let manifest = example(name);
        let parsed: CacheCluster = serde_json::from_value(manifest.clone())
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(parsed.spec.replicas >= 3, "{name}");
        assert_eq!(rejections(&manifest, None), Vec::<String>::new(), "{name}");
        assert_eq!(
            rejections(&manifest, Some(&manifest)),
            Vec::<String>::new(),
            "{name} (as an update)"
        );
    }
}

#[test]
fn replicas_below_replication_factor_are_rejected() {
    let good = example("cachecluster.yaml");
    let bad = with_spec(good.clone(), json!({"replicas": 2}));
    let messages = rejections(&bad, None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("replicas must be at least replicationFactor"),
        "{messages:?}"
    );
    // The default replication factor (3) is applied before the rule, as the API server does.
    let one = with_spec(good.clone(), json!({"replicas": 1, "replicationFactor": 1}));
    assert_eq!(rejections(&one, None), Vec::<String>::new());
}

#[test]
fn partitions_cannot_change() {
    let old = with_spec(example("cachecluster.yaml"), json!({"partitions": 64}));
    let changed = with_spec(old.clone(), json!({"partitions": 128}));
    let messages = rejections(&changed, Some(&old));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("partitions cannot change"),
        "{messages:?}"
    );
    // Creating with any partition count is fine; so is an update that keeps it.
    assert_eq!(rejections(&changed, None), Vec::<String>::new());
    assert_eq!(rejections(&changed, Some(&changed)), Vec::<String>::new());
    // Leaving it out keeps the default, which is not a change.
    let defaulted = example("cachecluster.yaml");
    assert_eq!(rejections(&defaulted, Some(&old)), Vec::<String>::new());
}

#[test]
fn persistence_size_may_only_grow() {
    let persistence = |size: &str| {
        with_spec(
            example("cachecluster.yaml"),
            json!({"persistence": {"enabled": true, "size": size}}),
        )
    };
    let messages = rejections(&persistence("5Gi"), Some(&persistence("10Gi")));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("may only grow"), "{messages:?}");
    // Growing, keeping, and the same size written differently are fine.
    assert!(rejections(&persistence("20Gi"), Some(&persistence("10Gi"))).is_empty());
    assert!(rejections(&persistence("10Gi"), Some(&persistence("10Gi"))).is_empty());
    assert!(rejections(&persistence("10240Mi"), Some(&persistence("10Gi"))).is_empty());
}

#[test]
fn persistence_enabled_and_storage_class_are_fixed() {
    let minimal = example("cachecluster.yaml");
    let enabled = with_spec(minimal.clone(), json!({"persistence": {"enabled": true}}));
    let messages = rejections(&enabled, Some(&minimal));
    assert!(
        messages
            .iter()
            .any(|message| message.contains("persistence.enabled cannot change")),
        "{messages:?}"
    );
    let fast = with_spec(
        minimal.clone(),
        json!({"persistence": {"enabled": true, "storageClassName": "fast"}}),
    );
    let slow = with_spec(
        minimal,
        json!({"persistence": {"enabled": true, "storageClassName": "slow"}}),
    );
    let messages = rejections(&slow, Some(&fast));
    assert!(
        messages
            .iter()
            .any(|message| message.contains("storageClassName cannot change")),
        "{messages:?}"
    );
}

#[test]
fn max_memory_and_percent_are_exclusive() {
    let both = with_spec(
        example("cachecluster.yaml"),
        json!({"maxMemory": "1Gi", "maxMemoryPercent": 50}),
    );
    let messages = rejections(&both, None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("at most one of maxMemory"),
        "{messages:?}"
    );
}

#[test]
fn replication_factor_cannot_change() {
    let old = example("cachecluster.yaml");
    let changed = with_spec(old.clone(), json!({"replicationFactor": 1}));
    let messages = rejections(&changed, Some(&old));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("replicationFactor cannot change"),
        "{messages:?}"
    );
}

#[test]
fn network_policy_peers_follow_the_network_policy_apis_rule() {
    let peers = |clients: Value| {
        with_spec(
            example("cachecluster.yaml"),
            json!({"networkPolicy": {"clients": clients}}),
        )
    };
    let good = peers(json!([
        {"podSelector": {"matchLabels": {"role": "app"}}},
        {"namespaceSelector": {}, "podSelector": {}},
        {"ipBlock": {"cidr": "10.0.0.0/8"}}
    ]));
    assert_eq!(rejections(&good, None), Vec::<String>::new());
    assert_eq!(rejections(&peers(json!([])), None), Vec::<String>::new());
    for bad in [
        json!([{}]),
        json!([{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]),
        json!([{"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}]),
    ] {
        let messages = rejections(&peers(bad.clone()), None);
        assert_eq!(messages.len(), 1, "{bad}: {messages:?}");
        assert!(
            messages[0].contains("either ipBlock alone, or podSelector and/or namespaceSelector"),
            "{messages:?}"
        );
    }
    // The same rule guards the monitoring peers.
    let monitoring = with_spec(
        example("cachecluster.yaml"),
        json!({"networkPolicy": {"monitoring": [{}]}}),
    );
    assert_eq!(rejections(&monitoring, None).len(), 1);
}

#[test]
fn network_policy_is_on_by_default() {
    let crd = schema();
    let field = &crd["properties"]["spec"]["properties"]["networkPolicy"];
    assert_eq!(field["default"], json!({"enabled": true}));
    assert_eq!(field["properties"]["enabled"]["default"], true);
    assert_eq!(field["properties"]["clients"]["maxItems"], 64);
    let parsed: CacheCluster = serde_json::from_value(example("cachecluster.yaml")).unwrap();
    assert!(parsed.spec.network_policy.enabled);
    assert_eq!(parsed.spec.network_policy.clients, None);
}
