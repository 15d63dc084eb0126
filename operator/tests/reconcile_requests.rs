//! Request-shape tests of the reconciler against kube's `tower-test` mock: the exact URLs, methods
//! and bodies it sends (server-side apply with `fieldManager=ringcache-operator&force=true`, the
//! `/status` apply, the cluster's Secret written and never read), and how it handles a 409
//! conflict, a missing ServiceMonitor CRD, disabled optional objects and an invalid spec.

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use ringcache_operator::api::{CacheCluster, CacheClusterSpec};
use ringcache_operator::events::{EventSink, Notice};
use ringcache_operator::key::OperatorKey;
use ringcache_operator::metrics::Metrics;
use ringcache_operator::reconcile::{Context, error_policy, reconcile};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const APPLY: &str = "?&force=true&fieldManager=ringcache-operator";
/// The operator key of these tests.
const KEY: &[u8] = b"the operator key of the request-shape tests\n";

/// One expected request and the answer the mock gives.
struct Step {
    method: &'static str,
    uri: String,
    status: u16,
    answer: Value,
}

fn step(method: &'static str, uri: impl Into<String>, status: u16, answer: Value) -> Step {
    Step {
        method,
        uri: uri.into(),
        status,
        answer,
    }
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

fn conflict() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"})
}

/// A request the reconciler sent.
#[derive(Debug)]
struct Sent {
    method: String,
    uri: String,
    body: Value,
}

struct Harness {
    context: Arc<Context>,
    events: Arc<Mutex<Vec<Notice>>>,
    server: tokio::task::JoinHandle<Vec<Sent>>,
}

/// A context whose client answers `steps` in order and fails the test on any other request.
fn harness(steps: Vec<Step>) -> Harness {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        let mut sent = Vec::new();
        for expected in steps {
            let (request, reply) = handle.next_request().await.unwrap_or_else(|| {
                panic!("no request; expected {} {}", expected.method, expected.uri)
            });
            let method = request.method().to_string();
            let uri = request.uri().to_string();
            let bytes = request.into_body().collect_bytes().await.unwrap();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            };
            assert_eq!(
                (method.as_str(), uri.as_str()),
                (expected.method, expected.uri.as_str()),
                "request {} out of order",
                sent.len() + 1
            );
            // Echo applied objects back, as the API server does; otherwise the scripted answer.
            let answer = if expected.status == 200 && expected.answer.is_null() {
                let mut echo = body.clone();
                if echo.get("metadata").is_none() {
                    echo["metadata"] = json!({"name": "demo", "namespace": "cache"});
                }
                if echo.get("status").is_some() && echo.get("spec").is_none() {
                    echo["spec"] = json!({"replicas": 3});
                }
                echo
            } else {
                expected.answer
            };
            reply.send_response(
                Response::builder()
                    .status(StatusCode::from_u16(expected.status).unwrap())
                    .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                    .unwrap(),
            );
            sent.push(Sent { method, uri, body });
        }
        sent
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let context = Arc::new(Context::new(
        Client::new(service, "default"),
        EventSink::Memory(events.clone()),
        Arc::new(Metrics::new()),
        OperatorKey::from_file_contents(std::path::Path::new("key"), KEY).unwrap(),
    ));
    Harness {
        context,
        events,
        server,
    }
}

fn cluster(spec: Value) -> Arc<CacheCluster> {
    let spec: CacheClusterSpec = serde_json::from_value(spec).unwrap();
    let mut cluster = CacheCluster::new("demo", spec);
    cluster.metadata.namespace = Some("cache".to_owned());
    cluster.metadata.uid = Some("0b1c2d3e-0000-4000-8000-000000000001".to_owned());
    cluster.metadata.generation = Some(1);
    Arc::new(cluster)
}

const NS: &str = "/api/v1/namespaces/cache";
const APPS: &str = "/apis/apps/v1/namespaces/cache";
const NETWORKING: &str = "/apis/networking.k8s.io/v1/namespaces/cache";

/// Every reconcile first reads its CacheCluster afresh (the watch cache may lag behind the status
/// the previous reconcile wrote), then the StatefulSet and the pods.
fn observe_nothing(spec: Value) -> Vec<Step> {
    vec![
        step(
            "GET",
            "/apis/cache.ringcache.dev/v1alpha1/namespaces/cache/cacheclusters/demo",
            200,
            serde_json::to_value(cluster(spec).as_ref()).unwrap(),
        ),
        step("GET", format!("{APPS}/statefulsets/demo"), 404, not_found()),
        step(
            "GET",
            format!(
                "{NS}/pods?&labelSelector=app.kubernetes.io%2Finstance%3Ddemo%2Capp.kubernetes.io%2Fname%3Dringcache"
            ),
            200,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}),
        ),
    ]
}

fn apply_everything() -> Vec<Step> {
    vec![
        step(
            "PATCH",
            format!("{NS}/serviceaccounts/demo-node{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{NS}/secrets/demo-cluster-secret{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{NS}/configmaps/demo-config{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{NS}/services/demo-nodes{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{NS}/services/demo{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{NETWORKING}/networkpolicies/demo{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("{APPS}/statefulsets/demo{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "PATCH",
            format!("/apis/policy/v1/namespaces/cache/poddisruptionbudgets/demo{APPLY}"),
            200,
            Value::Null,
        ),
        step(
            "DELETE",
            "/apis/monitoring.coreos.com/v1/namespaces/cache/servicemonitors/demo?",
            404,
            not_found(),
        ),
    ]
}

fn status_apply() -> Step {
    step(
        "PATCH",
        format!(
            "/apis/cache.ringcache.dev/v1alpha1/namespaces/cache/cacheclusters/demo/status{APPLY}"
        ),
        200,
        Value::Null,
    )
}

fn reasons(events: &Arc<Mutex<Vec<Notice>>>) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|notice| notice.reason.clone())
        .collect()
}

fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|condition| condition["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} condition in {status}"))
}

#[tokio::test]
async fn a_new_cluster_is_applied_object_by_object_then_status() {
    let mut steps = observe_nothing(json!({"replicas": 3}));
    steps.extend(apply_everything());
    steps.push(status_apply());
    let harness = harness(steps);
    let action = reconcile(cluster(json!({"replicas": 3})), harness.context.clone())
        .await
        .unwrap();
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(5))
        )
    );
    let sent = harness.server.await.unwrap();

    // Every apply is a full object with the owner reference.
    for request in sent
        .iter()
        .filter(|request| request.method == "PATCH")
        .take(8)
    {
        let owner = &request.body["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "CacheCluster", "{}", request.uri);
        assert_eq!(owner["name"], "demo");
        assert_eq!(owner["controller"], true);
        assert_eq!(owner["uid"], "0b1c2d3e-0000-4000-8000-000000000001");
    }
    // The cluster's Secret: the derived secret under `secret`, as data (nothing read before).
    let secret = &sent[4].body;
    assert_eq!(
        (secret["apiVersion"].as_str(), secret["kind"].as_str()),
        (Some("v1"), Some("Secret"))
    );
    assert_eq!(secret["type"], "Opaque");
    assert!(secret.get("stringData").is_none());
    let derived = ringcache_admin::derive_cluster_secret(
        KEY.strip_suffix(b"\n").unwrap(),
        "cache",
        "demo",
        "0b1c2d3e-0000-4000-8000-000000000001",
    );
    let stored: k8s_openapi::ByteString =
        serde_json::from_value(secret["data"]["secret"].clone()).unwrap();
    assert_eq!(stored.0, derived.as_bytes());
    assert!(
        sent.iter()
            .all(|request| !(request.uri.contains("/secrets") && request.method == "GET")),
        "a Secret was read"
    );
    // The NetworkPolicy, applied before the StatefulSet.
    let policy = &sent[8].body;
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress"]));
    let statefulset = &sent[9].body;
    assert_eq!(statefulset["apiVersion"], "apps/v1");
    assert_eq!(statefulset["kind"], "StatefulSet");
    assert_eq!(statefulset["spec"]["replicas"], 3);
    assert_eq!(statefulset["spec"]["serviceName"], "demo-nodes");
    let container = &statefulset["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    let volumes = statefulset["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|volume| volume["secret"]["secretName"] == "demo-cluster-secret")
    );
    assert_eq!(sent[6].body["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(sent[10].body["kind"], "PodDisruptionBudget");
    assert_eq!(sent[10].body["spec"]["maxUnavailable"], 1);

    // Status: an apply of apiVersion/kind/status only.
    let status_body = &sent[12].body;
    assert_eq!(status_body["apiVersion"], "cache.ringcache.dev/v1alpha1");
    assert_eq!(status_body["kind"], "CacheCluster");
    assert_eq!(
        status_body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["apiVersion", "kind", "status"]
    );
    let status = &status_body["status"];
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["phase"], "Creating");
    assert_eq!(status["ringVersion"], 1);
    assert_eq!(status["ringMembers"], 3);
    assert_eq!(status["partitions"], 64);
    assert_eq!(
        status["selector"],
        "app.kubernetes.io/instance=demo,app.kubernetes.io/name=ringcache"
    );
    assert_eq!(status["rebalance"]["phase"], "Idle");
    for kind in ["Available", "Progressing", "Degraded", "Rebalancing"] {
        assert_eq!(condition(status, kind)["observedGeneration"], 1, "{kind}");
    }
    assert_eq!(condition(status, "Progressing")["reason"], "RollingOut");
    assert_eq!(reasons(&harness.events), ["Created"]);
}

#[tokio::test]
async fn a_conflict_is_retried_once_then_the_reconcile_goes_on() {
    let mut steps = observe_nothing(json!({"replicas": 3}));
    let mut applies = apply_everything();
    // The StatefulSet apply (index 6) conflicts once.
    let retry = step(
        "PATCH",
        format!("{APPS}/statefulsets/demo{APPLY}"),
        200,
        Value::Null,
    );
    applies[6] = step(
        "PATCH",
        format!("{APPS}/statefulsets/demo{APPLY}"),
        409,
        conflict(),
    );
    applies.insert(7, retry);
    steps.extend(applies);
    steps.push(status_apply());
    let harness = harness(steps);
    reconcile(cluster(json!({"replicas": 3})), harness.context.clone())
        .await
        .unwrap();
    let sent = harness.server.await.unwrap();
    assert_eq!(sent.len(), 14);
    assert_eq!(
        sent[9].body, sent[10].body,
        "the retry sends the same object"
    );
}

#[tokio::test]
async fn a_persistent_conflict_fails_with_category_conflict_and_backs_off() {
    let mut steps = observe_nothing(json!({"replicas": 3}));
    steps.extend(apply_everything().into_iter().take(6));
    steps.push(step(
        "PATCH",
        format!("{APPS}/statefulsets/demo{APPLY}"),
        409,
        conflict(),
    ));
    steps.push(step(
        "PATCH",
        format!("{APPS}/statefulsets/demo{APPLY}"),
        409,
        conflict(),
    ));
    steps.push(status_apply()); // the failure is recorded in status before the error returns
    let harness = harness(steps);
    let cluster = cluster(json!({"replicas": 3}));
    let error = reconcile(cluster.clone(), harness.context.clone())
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "conflict");
    assert!(
        error
            .to_string()
            .starts_with("apply StatefulSet cache/demo: "),
        "{error}"
    );
    let sent = harness.server.await.unwrap();
    let status = &sent.last().unwrap().body["status"];
    assert_eq!(condition(status, "Degraded")["reason"], "ApplyFailed");
    assert_eq!(status["phase"], "Degraded");
    assert!(reasons(&harness.events).contains(&"ApplyFailed".to_owned()));

    let first = error_policy(cluster.clone(), &error, harness.context.clone());
    let second = error_policy(cluster, &error, harness.context.clone());
    assert_eq!(
        format!("{first:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(5))
        )
    );
    assert_eq!(
        format!("{second:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(10))
        )
    );
    let metrics = harness.context.metrics.encode();
    assert!(
        metrics.contains("ringcache_operator_reconcile_errors_total{category=\"conflict\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_invalid_spec_applies_nothing_and_reports_degraded() {
    let mut steps = observe_nothing(json!({"replicas": 2, "replicationFactor": 3}));
    steps.push(status_apply());
    let harness = harness(steps);
    // replicas below replicationFactor: the CEL rule would refuse it, but an operator must survive
    // objects written before the rule existed.
    let action = reconcile(
        cluster(json!({"replicas": 2, "replicationFactor": 3})),
        harness.context.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        format!("{action:?}"),
        format!("{:?}", kube::runtime::controller::Action::await_change())
    );
    let sent = harness.server.await.unwrap();
    assert_eq!(
        sent.len(),
        4,
        "get, observe, observe, status: no object applied"
    );
    let status = &sent[3].body["status"];
    assert_eq!(status["phase"], "Invalid");
    let degraded = condition(status, "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "InvalidSpec");
    assert_eq!(
        degraded["message"],
        "spec.replicas (2) must be at least spec.replicationFactor (3)"
    );
    let events = harness.events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "InvalidSpec");
    assert!(events[0].warning);
    let metrics = harness.context.metrics.encode();
    assert!(metrics.contains("ringcache_operator_reconciles_total{result=\"invalid_spec\"} 1"));
}

#[tokio::test]
async fn a_missing_service_monitor_crd_is_degraded_not_an_error() {
    let mut steps = observe_nothing(
        json!({"replicas": 3, "monitoring": {"serviceMonitor": {"enabled": true}}}),
    );
    let mut applies = apply_everything();
    applies.pop();
    applies.push(step(
        "PATCH",
        format!("/apis/monitoring.coreos.com/v1/namespaces/cache/servicemonitors/demo{APPLY}"),
        404,
        not_found(),
    ));
    steps.extend(applies);
    steps.push(status_apply());
    let harness = harness(steps);
    reconcile(
        cluster(json!({"replicas": 3, "monitoring": {"serviceMonitor": {"enabled": true}}})),
        harness.context.clone(),
    )
    .await
    .unwrap();
    let sent = harness.server.await.unwrap();
    let status = &sent.last().unwrap().body["status"];
    assert_eq!(
        condition(status, "Degraded")["reason"],
        "ServiceMonitorCRDMissing"
    );
    assert!(reasons(&harness.events).contains(&"ServiceMonitorCRDMissing".to_owned()));
}

#[tokio::test]
async fn a_disabled_pdb_is_deleted() {
    let mut steps =
        observe_nothing(json!({"replicas": 3, "podDisruptionBudget": {"enabled": false}}));
    let mut applies = apply_everything();
    applies[7] = step(
        "DELETE",
        "/apis/policy/v1/namespaces/cache/poddisruptionbudgets/demo?",
        200,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    );
    steps.extend(applies);
    steps.push(status_apply());
    let harness = harness(steps);
    reconcile(
        cluster(json!({"replicas": 3, "podDisruptionBudget": {"enabled": false}})),
        harness.context.clone(),
    )
    .await
    .unwrap();
    harness.server.await.unwrap();
}

#[tokio::test]
async fn a_disabled_network_policy_is_deleted_and_absence_is_fine() {
    let spec = json!({"replicas": 3, "networkPolicy": {"enabled": false}});
    let mut steps = observe_nothing(spec.clone());
    let mut applies = apply_everything();
    applies[5] = step(
        "DELETE",
        format!("{NETWORKING}/networkpolicies/demo?"),
        404,
        not_found(),
    );
    steps.extend(applies);
    steps.push(status_apply());
    let harness = harness(steps);
    reconcile(cluster(spec), harness.context.clone())
        .await
        .unwrap();
    let sent = harness.server.await.unwrap();
    // The Secret is applied whether or not the policy is.
    assert_eq!(sent[4].body["kind"], "Secret");
}
