//! Test support and end-to-end tests of ringcache, run against the real binaries.
//!
//! - [`linearizability`]: a checker for recorded client histories, used by the multi-process tests to
//!   prove that no acknowledged write is lost and no read is stale (and tested itself on histories that
//!   must pass and histories that must fail).
//!
//! Planned (issue 6): a Kubernetes API stand-in, a pod runner and `ringcache-local`.

pub mod linearizability;
