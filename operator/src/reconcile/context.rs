//! What every reconcile shares: the API client, where Events go, the metrics, the operator key and
//! where the operator runs, and the per-object retry backoff.

use crate::api::CacheCluster;
use crate::build::OperatorPods;
use crate::events::EventSink;
use crate::key::OperatorKey;
use crate::metrics::Metrics;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shared state of the reconciler.
pub struct Context {
    /// The Kubernetes API client.
    pub client: Client,
    /// Where Events go.
    pub events: EventSink,
    /// The operator's metrics.
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per CacheCluster, for exponential backoff.
    pub backoff: Backoff,
    /// The controller's cache of CacheClusters, when it has one: lets a long move phase notice a
    /// spec change (a pause, a reversed scale) without asking the API server.
    pub clusters: Option<Store<CacheCluster>>,
    /// The key every cluster secret is derived from (redacted in `Debug`).
    pub key: OperatorKey,
    /// Where the operator's pods are, for the NetworkPolicies (unknown outside a cluster).
    pub operator: OperatorPods,
}

impl Context {
    /// A context with fresh backoff state. The key is not optional: without it the operator could
    /// neither write the clusters' Secrets nor call their members.
    pub fn new(client: Client, events: EventSink, metrics: Arc<Metrics>, key: OperatorKey) -> Self {
        Context {
            client,
            events,
            metrics,
            backoff: Backoff::default(),
            clusters: None,
            key,
            operator: OperatorPods::default(),
        }
    }

    /// The same, admitting the operator's pods `operator` in the NetworkPolicies.
    pub fn with_operator(mut self, operator: OperatorPods) -> Self {
        self.operator = operator;
        self
    }

    /// The same, reading spec changes from the controller's cache.
    pub fn with_clusters(mut self, clusters: Store<CacheCluster>) -> Self {
        self.clusters = Some(clusters);
        self
    }

    /// Whether the cache holds a newer generation of `cluster` than the one being reconciled.
    pub fn spec_changed(&self, cluster: &CacheCluster) -> bool {
        self.clusters
            .as_ref()
            .and_then(|clusters| clusters.get(&ObjectRef::from_obj(cluster)))
            .is_some_and(|latest| latest.metadata.generation > cluster.metadata.generation)
    }
}

/// Exponential retry delays per object: 5 s, 10 s, 20 s … capped at 5 minutes, reset on success.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<(String, String), u32>>,
}

/// First retry delay.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The delay before retry number `failures` (1 = first retry).
pub fn backoff_delay(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

fn key(cluster: &CacheCluster) -> (String, String) {
    (cluster.namespace().unwrap_or_default(), cluster.name_any())
}

impl Backoff {
    /// Records a failure and returns how long to wait before retrying.
    pub fn next_delay(&self, cluster: &CacheCluster) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key(cluster)).or_insert(0);
        *count = count.saturating_add(1);
        backoff_delay(*count)
    }

    /// Forgets the failures of a cluster after a successful reconcile.
    pub fn reset(&self, cluster: &CacheCluster) {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&key(cluster));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let delays: Vec<u64> = (1..=8).map(|n| backoff_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff_delay(u32::MAX), BACKOFF_MAX);
    }
}
