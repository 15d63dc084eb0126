//! Test support and end-to-end tests of ringcache, run against the real binaries.
//!
//! - [`linearizability`]: a checker for recorded client histories, used by the multi-process tests to
//!   prove that no acknowledged write is lost and no read is stale (and tested itself on histories that
//!   must pass and histories that must fail).
//!
//! - [`apiserver`]: an in-repo Kubernetes API server stand-in (real HTTP on loopback) that the
//!   operator binary, `kube::Client` and `kubectl` use through a kubeconfig; see `e2e/README.md`.
//!
//! Planned (issue 6): a pod runner on top of the stand-in and `ringcache-local`.

pub mod apiserver;
pub mod linearizability;
