//! [`ApiServerOptions`]: how an API stand-in is started.

use super::users::KubeUser;
use std::net::SocketAddr;
use std::time::Duration;

/// Settings of one API stand-in. `Default` binds an ephemeral loopback port with RBAC off.
#[derive(Debug, Clone)]
pub struct ApiServerOptions {
    /// Address to listen on; port 0 picks a free port (read it back with `ApiServerHandle::url`).
    pub bind: SocketAddr,
    /// Enforce RBAC from the stored Role/ClusterRole/RoleBinding/ClusterRoleBinding objects. The admin
    /// user always bypasses it. When off, every request (with or without a token) acts as admin.
    pub rbac: bool,
    /// Who a request without a bearer token acts as when `rbac` is on (`None`: 401 Unauthorized).
    /// kubectl (client-go) never sends bearer tokens over plain HTTP, so to use kubectl against an
    /// RBAC-enforcing stand-in set this (usually to `KubeUser::Admin`) and use `kubectl --as=…` to
    /// act as someone else. kube-rs clients, and so the operator, do send their tokens.
    pub anonymous: Option<KubeUser>,
    /// Most watch events kept for resuming watches; older ones are compacted away (like etcd's
    /// compaction), so resuming from before them answers `410 Gone`.
    pub history_limit: usize,
    /// How often a watch that asked for `allowWatchBookmarks=true` gets a BOOKMARK event. The real
    /// server sends them about once a minute; tests want them sooner.
    pub bookmark_interval: Duration,
    /// Lifetime of a watch that did not send `timeoutSeconds` (the real server picks 30–60 minutes).
    pub default_watch_timeout: Duration,
    /// How often the background garbage collector (owner references, foreground/orphan deletion,
    /// namespace and CRD clean-up) runs in addition to running after every change.
    pub gc_interval: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

impl Default for ApiServerOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            rbac: false,
            anonymous: None,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(5),
            default_watch_timeout: Duration::from_secs(1800),
            gc_interval: Duration::from_millis(500),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}
