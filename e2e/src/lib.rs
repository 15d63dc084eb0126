//! Test support and end-to-end tests of ringcache, run against the real binaries.
//!
//! - [`linearizability`]: a checker for recorded client histories, used by the multi-process tests to
//!   prove that no acknowledged write is lost and no read is stale (and tested itself on histories that
//!   must pass and histories that must fail).
//!
//! - [`apiserver`]: an in-repo Kubernetes API server stand-in (real HTTP on loopback) that the
//!   operator binary, `kube::Client` and `kubectl` use through a kubeconfig; see `e2e/README.md`.
//!
//! - [`pods`]: the pod runner, playing StatefulSet controller and kubelet: every pod is a real
//!   `ringcache-node` process on its own loopback address.
//!
//! - [`local`]: a whole CacheCluster on one machine (stand-in, pod runner, operator), behind the
//!   `ringcache-local` binary and the end-to-end tests.

pub mod apiserver;
pub mod control_plane;
pub mod linearizability;
pub mod local;
pub mod pods;
