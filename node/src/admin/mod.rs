//! The admin HTTP API (default port 9090): probes, metrics, status and the idempotent cluster
//! operations the operator drives. Types and paths: the `ringcache-admin` crate.
//!
//! ```text
//!  /healthz /readyz /metrics ─────────────────────────────► open (probes, Prometheus)
//!  GET /v1/lifecycle/pre-stop ────────────────────────────► open, rate-limited: hands leadership away
//!  every other /v1 route ─► require_secret (Bearer <cluster secret>) ─► handler   else 401
//! ```

pub mod metrics;
pub mod tls_listener;

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use ringcache_admin::{
    AddLearnerRequest, BootstrapRequest, ErrorBody, ErrorKind, FormRequest, HostRequest,
    JoinRequest, PromoteRequest, TransferLeadershipRequest,
};
use tokio::net::TcpListener;

use crate::cluster::AdminFailure;
use crate::cluster::Cluster;
use crate::shared::Shared;
use tls_listener::{AdminPeer, TlsListener};

/// What the admin API serves: the node's shared state and, for a cluster member, its cluster.
#[derive(Debug)]
pub struct AdminState {
    pub shared: Arc<Shared>,
    pub cluster: Option<Arc<Cluster>>,
}

impl std::ops::Deref for AdminState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// Serves the admin API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<AdminState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(shared.clone()).into_make_service_with_connect_info::<AdminPeer>();
    match shared.tls.clone() {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        // The same certificate as the Redis port; callers authenticate with the cluster secret
        // (bound to the session when they cannot verify the certificate).
        Some(tls) => {
            axum::serve(TlsListener::start(listener, tls)?, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// The routes (public for tests).
pub fn router(shared: Arc<AdminState>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/cluster/form", post(form))
        .route("/v1/cluster/join", post(join))
        .route(
            "/v1/partitions/{partition}",
            put(host_partition).delete(drop_partition),
        )
        .route("/v1/partitions/{partition}/bootstrap", post(bootstrap))
        .route("/v1/partitions/{partition}/learners", post(add_learner))
        .route("/v1/partitions/{partition}/promote", post(promote))
        .route(
            "/v1/partitions/{partition}/transfer-leadership",
            post(transfer_leadership),
        )
        .route(
            "/v1/partitions/{partition}/replicas/{id}",
            delete(remove_replica),
        )
        .route("/v1/leave", post(leave))
        // Only the routes above: the probes, /metrics and the pre-stop hook are called by the
        // kubelet and Prometheus, which hold no cluster secret.
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            require_secret,
        ))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/v1/lifecycle/pre-stop", get(pre_stop))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            prove_membership,
        ))
        .with_state(shared)
}

/// The binding exported from the request's TLS session (`None` on plain HTTP).
fn session_binding(request: &Request) -> Option<[u8; ringcache_admin::credential::BINDING_LEN]> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<AdminPeer>>()
        .and_then(|info| info.0.binding)
}

/// On a TLS session, every answer carries the member's proof that it knows the cluster secret
/// ([`ringcache_admin::credential::server_proof`] of the session's binding), so a caller that
/// could not verify the certificate (the operator) knows it talks to a member. The proof is
/// useless on any other session.
async fn prove_membership(
    State(shared): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    let binding = session_binding(&request);
    let mut response = next.run(request).await;
    if let (Some(binding), Some(secret)) = (binding, shared.security.secret()) {
        let proof = ringcache_admin::credential::server_proof(secret, &binding);
        if let Ok(value) = header::HeaderValue::from_str(&proof) {
            response
                .headers_mut()
                .insert(ringcache_admin::credential::PROOF_HEADER, value);
        }
    }
    response
}

/// Lets a request through when it carries the cluster secret; 401 otherwise (counted by reason).
async fn require_secret(
    State(shared): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    let binding = session_binding(&request);
    match shared
        .security
        .check_admin(authorization, binding.as_ref().map(|binding| &binding[..]))
    {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            let body = ErrorBody {
                kind: ErrorKind::Unauthorized,
                message: refusal.message().to_owned(),
                leader: None,
            };
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"ringcache-admin\"")],
                Json(body),
            )
                .into_response()
        }
    }
}

/// The kubelet's pre-stop hook (no credential): hands this member's leaderships away so clients
/// see a short failover. Harmless by design: it never leaves the cluster or drops data, and it
/// runs at most once per [`PRE_STOP_INTERVAL`](crate::security::PRE_STOP_INTERVAL).
async fn pre_stop(State(shared): State<Arc<AdminState>>) -> Response {
    let cluster = match cluster_of(&shared) {
        Ok(cluster) => cluster,
        Err(failure) => return answer::<()>(Err(failure)).into_response(),
    };
    if let Err(wait) = shared.security.allow_pre_stop(std::time::Instant::now()) {
        let body = ErrorBody {
            kind: ErrorKind::TooManyRequests,
            message: format!(
                "leadership was handed away less than {}s ago; the pre-stop hook runs at most once \
                 per {}s (retry in {}s)",
                crate::security::PRE_STOP_INTERVAL.as_secs(),
                crate::security::PRE_STOP_INTERVAL.as_secs(),
                wait.as_secs().max(1)
            ),
            leader: None,
        };
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            Json(body),
        )
            .into_response();
    }
    Json(cluster.leave().await).into_response()
}

/// An admin answer: JSON on success, an [`ErrorBody`] with the kind's HTTP status otherwise.
struct Answer(Result<serde_json::Value, AdminFailure>);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(value) => Json(value).into_response(),
            Err(failure) => {
                let status = StatusCode::from_u16(failure.body.kind.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, Json(failure.body)).into_response()
            }
        }
    }
}

fn answer<T: serde::Serialize>(result: Result<T, AdminFailure>) -> Answer {
    Answer(result.map(|value| serde_json::to_value(value).unwrap_or(serde_json::Value::Null)))
}

fn cluster_of(shared: &AdminState) -> Result<&Arc<crate::cluster::Cluster>, AdminFailure> {
    shared.cluster.as_ref().ok_or_else(|| {
        AdminFailure::new(
            ErrorKind::BadRequest,
            "this node runs without cluster mode (start it with --cluster-enabled)",
        )
    })
}

async fn method_not_allowed(uri: axum::http::Uri, method: axum::http::Method) -> Response {
    let body = ErrorBody {
        kind: ErrorKind::BadRequest,
        message: format!("{uri} does not take {method} (see docs/admin-api.md)"),
        leader: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// A malformed request (body or path) answered like every other error: an [`ErrorBody`], with
/// the status the extractor chose (400, 413, 415 or 422), instead of axum's plain-text rejection.
fn rejected(status: StatusCode, detail: String) -> Response {
    let body = ErrorBody {
        kind: ErrorKind::BadRequest,
        message: detail,
        leader: None,
    };
    (status, Json(body)).into_response()
}

/// A JSON request body; malformed ones are answered by [`rejected`].
struct ApiJson<T>(T);

impl<T> std::ops::Deref for ApiJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// Path parameters; malformed ones (`/v1/partitions/abc`) are answered by [`rejected`].
struct ApiPath<T>(T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

async fn not_found(uri: axum::http::Uri, method: axum::http::Method) -> Response {
    let body = ErrorBody {
        kind: ErrorKind::BadRequest,
        message: format!("no admin operation {method} {uri} (see docs/admin-api.md)"),
        leader: None,
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn readyz(State(shared): State<Arc<AdminState>>) -> Response {
    let readiness = match shared.cluster.as_ref() {
        Some(cluster) => cluster.readiness(),
        None => Ok(()),
    };
    match readiness {
        Ok(()) => "ready\n".into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

async fn metrics_text(State(shared): State<Arc<AdminState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&shared),
    )
        .into_response()
}

async fn status(State(shared): State<Arc<AdminState>>) -> Answer {
    answer(cluster_of(&shared).map(|cluster| cluster.status()))
}

async fn form(State(shared): State<Arc<AdminState>>, body: ApiJson<FormRequest>) -> Answer {
    if let Err(failure) = cluster_of(&shared) {
        return answer::<()>(Err(failure));
    }
    let credential = shared
        .security
        .secret()
        .map(|secret| String::from_utf8_lossy(secret).into_owned());
    // The request names members by the admin addresses the operator sees (pod IPs), which a
    // certificate issued for the members' DNS names does not cover: members authenticate each
    // other with the secret bound to the session, as the operator does, not with the CA.
    let tls = shared
        .tls
        .is_some()
        .then_some(ringcache_admin::AdminTls::SecretBound);
    answer(crate::cluster::formation::form(&body, credential, tls).await)
}

async fn join(State(shared): State<Arc<AdminState>>, body: ApiJson<JoinRequest>) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.join_with_seeds(&body)),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn host_partition(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
    body: ApiJson<HostRequest>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.host_partition(partition, body.settings).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn drop_partition(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.drop_partition(partition).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn bootstrap(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
    body: ApiJson<BootstrapRequest>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.bootstrap(partition, &body.voters).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn add_learner(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
    body: ApiJson<AddLearnerRequest>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.add_learner(partition, &body.replica).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn promote(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
    body: ApiJson<PromoteRequest>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.promote(partition, body.id).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn transfer_leadership(
    State(shared): State<Arc<AdminState>>,
    ApiPath(partition): ApiPath<u32>,
    body: ApiJson<TransferLeadershipRequest>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.transfer_leadership(partition, body.to).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn remove_replica(
    State(shared): State<Arc<AdminState>>,
    ApiPath((partition, id)): ApiPath<(u32, u64)>,
) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(cluster.remove_replica(partition, id).await),
        Err(failure) => answer::<()>(Err(failure)),
    }
}

async fn leave(State(shared): State<Arc<AdminState>>) -> Answer {
    match cluster_of(&shared) {
        Ok(cluster) => answer(Ok(cluster.leave().await)),
        Err(failure) => answer::<()>(Err(failure)),
    }
}
