//! The operator's Prometheus metrics. Labels are fixed sets (result, error category, cluster
//! identity), never error text.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Labels of a reconcile's result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok`, `invalid_spec` or `error`.
    pub result: &'static str,
}

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// One of [`crate::error::ErrorCategory`]'s strings.
    pub category: &'static str,
}

/// Labels of one cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    /// Namespace of the CacheCluster.
    pub namespace: String,
    /// Name of the CacheCluster.
    pub name: String,
}

/// Labels of one member of one cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    /// Namespace of the CacheCluster.
    pub namespace: String,
    /// Name of the CacheCluster.
    pub name: String,
    /// The member's StatefulSet ordinal.
    pub member: String,
}

/// Labels of a failed move call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MoveFailureLabels {
    /// Namespace of the CacheCluster.
    pub namespace: String,
    /// Name of the CacheCluster.
    pub name: String,
    /// One of `FailureReason`'s strings (`unreachable`, `timeout`, `not_leader`, `refused`,
    /// `failed`).
    pub reason: &'static str,
}

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    /// Reconciles by result.
    pub reconciles: Family<ResultLabels, Counter>,
    /// Failed reconciles by category.
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    /// Reconcile duration.
    pub reconcile_duration: Histogram,
    /// Members asked for, per cluster.
    pub desired_members: Family<ClusterLabels, Gauge>,
    /// Ready pods, per cluster.
    pub ready_members: Family<ClusterLabels, Gauge>,
    /// Replica moves planned but not done, per cluster.
    pub rebalance_moves_pending: Family<ClusterLabels, Gauge>,
    /// 1 while the cluster's `Degraded` condition is true.
    pub degraded: Family<ClusterLabels, Gauge>,
    /// 1 while this replica holds the leader Lease (or runs without leader election).
    pub leader: Gauge,
    /// Replica moves started, per cluster.
    pub moves_started: Family<ClusterLabels, Counter>,
    /// Replica moves finished, per cluster.
    pub moves_completed: Family<ClusterLabels, Counter>,
    /// Failed move calls (each retried), per cluster and reason.
    pub moves_failed: Family<MoveFailureLabels, Counter>,
    /// Keys the receivers of finished moves held when the move ended, per cluster.
    pub keys_moved: Family<ClusterLabels, Counter>,
    /// 1 while a move of the cluster has made no progress within its deadline.
    pub rebalance_stalled: Family<ClusterLabels, Gauge>,
    /// How long whole rebalances took, from adopting a target to the last move and leadership
    /// hand-off.
    pub rebalance_duration: Histogram,
    /// Partitions that cannot commit (no leader or no live majority), per cluster.
    pub partitions_without_quorum: Family<ClusterLabels, Gauge>,
    /// Partitions with fewer live voters than the replication factor, per cluster.
    pub partitions_under_replicated: Family<ClusterLabels, Gauge>,
    /// Partition replicas each member hosts.
    pub member_replicas: Family<MemberLabels, Gauge>,
    /// Partitions each member leads.
    pub member_leaders: Family<MemberLabels, Gauge>,
    /// Estimated bytes of data each member holds.
    pub member_used_memory: Family<MemberLabels, Gauge>,
    /// Keys each member holds.
    pub member_keys: Family<MemberLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `ringcache_operator` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ringcache_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reconciles by error category",
            reconcile_errors.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile takes",
            reconcile_duration.clone(),
        );
        let desired_members = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_desired_members",
            "spec.replicas of each CacheCluster",
            desired_members.clone(),
        );
        let ready_members = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_ready_members",
            "Ready pods of each CacheCluster",
            ready_members.clone(),
        );
        let rebalance_moves_pending = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_rebalance_moves_pending",
            "Replica moves planned and not yet done",
            rebalance_moves_pending.clone(),
        );
        let degraded = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_degraded",
            "1 while the Degraded condition is true",
            degraded.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica may act (holds the Lease)",
            leader.clone(),
        );
        let moves_started = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "moves_started",
            "Replica moves started",
            moves_started.clone(),
        );
        let moves_completed = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "moves_completed",
            "Replica moves finished (receiver a voter, giver gone)",
            moves_completed.clone(),
        );
        let moves_failed = Family::<MoveFailureLabels, Counter>::default();
        registry.register(
            "moves_failed",
            "Move calls that failed (each is retried), by reason",
            moves_failed.clone(),
        );
        let keys_moved = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "keys_moved",
            "Keys held by the receivers of finished moves",
            keys_moved.clone(),
        );
        let rebalance_stalled = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "rebalance_stalled",
            "1 while a replica move has made no progress within spec.rebalance.progressDeadlineSeconds",
            rebalance_stalled.clone(),
        );
        let rebalance_duration = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register(
            "rebalance_duration_seconds",
            "Time a rebalance took, from adopting a target to balanced leadership",
            rebalance_duration.clone(),
        );
        let partitions_without_quorum = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_partitions_without_quorum",
            "Partitions without a leader or a live majority of their voters",
            partitions_without_quorum.clone(),
        );
        let partitions_under_replicated = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cachecluster_partitions_under_replicated",
            "Partitions with fewer live voters than the replication factor",
            partitions_under_replicated.clone(),
        );
        let member_replicas = Family::<MemberLabels, Gauge>::default();
        registry.register(
            "member_hosted_replicas",
            "Partition replicas a member hosts, as it reports",
            member_replicas.clone(),
        );
        let member_leaders = Family::<MemberLabels, Gauge>::default();
        registry.register(
            "member_leader_of",
            "Partitions a member leads",
            member_leaders.clone(),
        );
        let member_used_memory = Family::<MemberLabels, Gauge>::default();
        registry.register(
            "member_used_memory_bytes",
            "Estimated bytes of data a member holds, as it reports",
            member_used_memory.clone(),
        );
        let member_keys = Family::<MemberLabels, Gauge>::default();
        registry.register(
            "member_keys",
            "Keys a member holds over all its replicas",
            member_keys.clone(),
        );
        Metrics {
            registry,
            partitions_without_quorum,
            partitions_under_replicated,
            member_replicas,
            member_leaders,
            member_used_memory,
            member_keys,
            moves_started,
            moves_completed,
            moves_failed,
            keys_moved,
            rebalance_stalled,
            rebalance_duration,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            desired_members,
            ready_members,
            rebalance_moves_pending,
            degraded,
            leader,
        }
    }

    /// Counts one reconcile.
    pub fn reconciled(&self, result: &'static str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels { result })
            .inc();
        self.reconcile_duration.observe(took.as_secs_f64());
    }

    /// Counts one failed reconcile.
    pub fn failed(&self, category: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels { category })
            .inc();
    }

    /// The text exposition format, for `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_fixed_labels() {
        let metrics = Metrics::new();
        metrics.reconciled("ok", Duration::from_millis(3));
        metrics.failed("conflict");
        metrics
            .desired_members
            .get_or_create(&ClusterLabels {
                namespace: "cache".to_owned(),
                name: "demo".to_owned(),
            })
            .set(3);
        let text = metrics.encode();
        assert!(
            text.contains("ringcache_operator_reconciles_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ringcache_operator_reconcile_errors_total{category=\"conflict\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "ringcache_operator_cachecluster_desired_members{namespace=\"cache\",name=\"demo\"} 3"
            ),
            "{text}"
        );
        assert!(text.contains("ringcache_operator_reconcile_duration_seconds_count 1"));
    }
}
