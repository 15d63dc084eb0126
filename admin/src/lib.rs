//! The admin HTTP API of `ringcache-node` (port 9090): the request and response types, shared by
//! the node (which serves them), the operator and the tests (which call them), so the two sides can
//! never disagree on a field.
//!
//! ```text
//!  operator / tests / curl ──HTTP JSON──► node :9090
//!     GET  /healthz /readyz /metrics /v1/status
//!     POST /v1/cluster/form                         forms a fresh cluster (any member)
//!     POST /v1/cluster/join                         join it hosting nothing; seeds to route through
//!     PUT  /v1/partitions/{p}                       host a replica of p here (empty, or from disk)
//!     POST /v1/partitions/{p}/bootstrap             initialize p's Raft group with its voters
//!     POST /v1/partitions/{p}/learners              ┐
//!     POST /v1/partitions/{p}/promote               │ on p's leader; any other member answers 421
//!     POST /v1/partitions/{p}/transfer-leadership   │ with the leader in the body
//!     DELETE /v1/partitions/{p}/replicas/{id}       ┘
//!     DELETE /v1/partitions/{p}                     stop hosting p here and delete its data
//!     POST /v1/leave   (GET /v1/lifecycle/pre-stop) hand every leadership away
//! ```
//!
//! Every operation is idempotent: repeating one that already took effect succeeds again, so a
//! caller that lost a response simply retries.

mod client;
pub mod credential;
mod tls;
mod types;

pub use client::{AdminClient, AdminClientError};
pub use credential::{MIN_SECRET_LEN, derive_cluster_secret, secrets_match};
pub use tls::AdminTls;
pub use types::*;

/// Default port of the admin API.
pub const DEFAULT_ADMIN_PORT: u16 = 9090;
