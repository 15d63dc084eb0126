//! Test support and end-to-end tests of ringcache, run against the real binaries.
//!
//! - [`linearizability`]: a checker for recorded client histories, used by the multi-process tests to
//!   prove that no acknowledged write is lost and no read is stale: the `ringcache-checker` crate
//!   (`checker/`, with the `ringcache-check` command for history files), re-exported under its old
//!   path.
//!
//! - [`workload`]: a steady load of plain and cluster-aware Redis clients recording every operation,
//!   and [`final_reads`]: the read-back of every key checked against that history.
//!
//! - [`faults`]: a fault layer between members without root (a proxy per member that can cut,
//!   hold and delay each direction of each link), for the fault tests and the nemesis runner.
//!
//! - [`chaos`]: the nemesis runner behind `ringcache-chaos` and `scripts/chaos.sh`: a seeded
//!   schedule of link and process faults against real members under a recorded load, then the
//!   history checked.
//!
//! - [`observer`]: samples every member's `/v1/status` in the background (leaderless time per
//!   partition, hosting changes) and compares the observed placement with the ring.
//!
//! - [`apiserver`]: the in-repo Kubernetes API server stand-in (real HTTP on loopback) that the
//!   operator binary, `kube::Client` and `kubectl` use through a kubeconfig: the `ringcache-standin`
//!   crate (`e2e/standin/`), re-exported under its old path; see `e2e/README.md`.
//!
//! - [`control_plane`]: a real control plane (etcd, kube-apiserver, kube-controller-manager built by
//!   `scripts/install-kube.sh`) on loopback, the second environment of the end-to-end suite.
//!
//! - [`pods`]: the pod runner, playing StatefulSet controller and kubelet: every pod is a real
//!   `ringcache-node` process on its own loopback address.
//!
//! - [`local`]: a whole CacheCluster on one machine (stand-in, pod runner, operator), behind the
//!   `ringcache-local` binary and the end-to-end tests.
//!
//! - [`credentials`]: the operator key the harness gives the operator, and a CacheCluster's secret
//!   for the harness's own calls to the members' admin API.

pub mod final_reads;
pub use ringcache_standin as apiserver;
pub mod chaos;
pub mod control_plane;
pub mod credentials;
pub mod faults;
pub mod linearizability;
pub mod local;
pub mod observer;
pub mod pods;
pub mod workload;
