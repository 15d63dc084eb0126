//! The Lease elector's requests against kube's `tower-test` mock: create when absent, respect an
//! unexpired holder, take over an expired Lease by resourceVersion, and treat a lost race (409) as
//! "not leader" rather than an error.

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use ringcache_operator::leader::{Elector, ElectorConfig};
use serde_json::{Value, json};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn elector() -> (Elector, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let config = ElectorConfig::new("ringcache-operator".into(), "ops".into(), "me".into());
    (
        Elector::new(Client::new(service, "default"), config),
        handle,
    )
}

async fn expect(handle: &mut Handle, method: &str, uri: &str, status: u16, answer: Value) -> Value {
    let (request, reply) = handle.next_request().await.expect("a request");
    assert_eq!(request.method().as_str(), method);
    assert_eq!(request.uri().to_string(), uri);
    let bytes = request.into_body().collect_bytes().await.unwrap();
    reply.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&answer).unwrap()))
            .unwrap(),
    );
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

fn lease(holder: &str, renew_time: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "ringcache-operator", "namespace": "ops", "resourceVersion": "7"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "renewTime": renew_time,
            "leaseTransitions": 2
        }
    })
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}

#[tokio::test]
async fn creates_the_lease_when_absent() {
    let (elector, mut handle) = elector();
    let server = tokio::spawn(async move {
        expect(
            &mut handle,
            "GET",
            &format!("{LEASES}/ringcache-operator"),
            404,
            not_found(),
        )
        .await;
        let created = expect(
            &mut handle,
            "POST",
            &format!("{LEASES}?"),
            201,
            lease("me", "2030-01-01T00:00:00.000000Z"),
        )
        .await;
        assert_eq!(created["spec"]["holderIdentity"], "me");
        assert_eq!(created["spec"]["leaseDurationSeconds"], 15);
        assert_eq!(created["spec"]["leaseTransitions"], 0);
    });
    assert!(elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn respects_another_holders_unexpired_lease() {
    let (elector, mut handle) = elector();
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let server = tokio::spawn(async move {
        expect(
            &mut handle,
            "GET",
            &format!("{LEASES}/ringcache-operator"),
            200,
            lease("other", &now),
        )
        .await;
        // No write may follow.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(100), handle.next_request())
                .await
                .is_err()
        );
    });
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn takes_over_an_expired_lease_by_resource_version_and_loses_races_quietly() {
    let (elector, mut handle) = elector();
    let server = tokio::spawn(async move {
        let stale = lease("other", "2020-01-01T00:00:00.000000Z");
        expect(
            &mut handle,
            "GET",
            &format!("{LEASES}/ringcache-operator"),
            200,
            stale,
        )
        .await;
        let replaced = expect(
            &mut handle,
            "PUT",
            &format!("{LEASES}/ringcache-operator?"),
            409,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409}),
        )
        .await;
        assert_eq!(replaced["metadata"]["resourceVersion"], "7");
        assert_eq!(replaced["spec"]["holderIdentity"], "me");
        assert_eq!(replaced["spec"]["leaseTransitions"], 3);
    });
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn renews_its_own_lease() {
    let (elector, mut handle) = elector();
    let server = tokio::spawn(async move {
        let ours = lease("me", "2020-01-01T00:00:00.000000Z");
        expect(
            &mut handle,
            "GET",
            &format!("{LEASES}/ringcache-operator"),
            200,
            ours.clone(),
        )
        .await;
        let renewed = expect(
            &mut handle,
            "PUT",
            &format!("{LEASES}/ringcache-operator?"),
            200,
            ours,
        )
        .await;
        assert_eq!(
            renewed["spec"]["leaseTransitions"], 2,
            "a renewal is not a transition"
        );
        assert_ne!(renewed["spec"]["renewTime"], "2020-01-01T00:00:00.000000Z");
    });
    assert!(elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}
