//! `ringcache-operator`: the Kubernetes operator of ringcache.
//!
//! It turns a `CacheCluster` (the API in [`api`]) into a StatefulSet of `ringcache-node` pods, two
//! Services, a ConfigMap, a PodDisruptionBudget, a ServiceAccount, the cluster's Secret (derived from
//! the operator key, [`key`]) and a NetworkPolicy, moves partition replicas to the
//! ring `spec.replicas` asks for, and reports honest status. It also ships the user-facing preview of a
//! scale operation, `ringcache-operator plan`.
//!
//! ```text
//!  watch CacheCluster ─► observe ─► validate ─► observe data plane ─► ring (pure) ─► build (pure)
//!                          │                      (admin API)                           │
//!                          │           ─► apply (SSA) ─► form | move (pure mover, admin API) ─► status
//!                          └──── kube::Client: at the two ends; the nodes' admin API in the middle ──┘
//! ```

pub mod api;
pub mod build;
pub mod cli;
pub mod controller;
pub mod error;
pub mod events;
pub mod http_server;
pub mod key;
pub mod leader;
pub mod metrics;
pub mod plan_report;
pub mod rbac;
pub mod reconcile;
