//! The cluster's pods as the API shows them, and a tracker of a rolling update: which pod was
//! replaced when, and whether each replacement waited for the previous one to be Ready.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use crate::rebalance_support::Env;

/// The pod label with the template revision a pod was created from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// One pod of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSnapshot {
    pub uid: String,
    pub ready: bool,
    pub terminating: bool,
    pub revision: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// The CacheCluster's pods (`<name>-<ordinal>`) by ordinal.
pub async fn pods(env: &Env) -> BTreeMap<u32, PodSnapshot> {
    let api: Api<Pod> = Api::namespaced(env.client(), env.namespace());
    let Ok(list) = api.list(&ListParams::default()).await else {
        return BTreeMap::new();
    };
    let prefix = format!("{}-", env.name());
    list.items
        .iter()
        .filter_map(|pod| {
            let ordinal: u32 = pod.name_any().strip_prefix(&prefix)?.parse().ok()?;
            let ready = pod
                .status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
                });
            Some((
                ordinal,
                PodSnapshot {
                    uid: pod.uid().unwrap_or_default(),
                    ready,
                    terminating: pod.metadata.deletion_timestamp.is_some(),
                    revision: pod.labels().get(REVISION_LABEL).cloned(),
                    annotations: pod.annotations().clone(),
                },
            ))
        })
        .collect()
}

/// Follows a rolling update from snapshots of the pods.
#[derive(Debug, Clone)]
pub struct RolloutTracker {
    original: BTreeMap<u32, String>,
    started_at: Instant,
    /// Ordinals in the order their replacement was first seen.
    pub order: Vec<u32>,
    /// Per ordinal: seconds from the start until its new pod was first seen Ready.
    pub ready_after: BTreeMap<u32, f64>,
    /// Replacements that did not wait (a higher ordinal not yet replaced and Ready), or more than
    /// one replacement under way at once (old pod stopping, or new pod never Ready yet).
    pub violations: Vec<String>,
}

impl RolloutTracker {
    /// Starts from the pods before the template changed.
    pub fn new(before: &BTreeMap<u32, PodSnapshot>) -> Self {
        RolloutTracker {
            original: before
                .iter()
                .map(|(ordinal, pod)| (*ordinal, pod.uid.clone()))
                .collect(),
            started_at: Instant::now(),
            order: Vec::new(),
            ready_after: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    fn replaced_and_ready(&self, ordinal: u32, now: &BTreeMap<u32, PodSnapshot>) -> bool {
        now.get(&ordinal)
            .is_some_and(|pod| pod.uid != self.original[&ordinal] && pod.ready && !pod.terminating)
    }

    /// Replaced, and its new pod was Ready at some point (readiness can flicker afterwards: a
    /// member whose partitions change leader for a moment answers not ready).
    fn was_replaced_and_ready(&self, ordinal: u32, now: &BTreeMap<u32, PodSnapshot>) -> bool {
        self.ready_after.contains_key(&ordinal) || self.replaced_and_ready(ordinal, now)
    }

    /// Folds in one snapshot.
    pub fn observe(&mut self, now: &BTreeMap<u32, PodSnapshot>) {
        let elapsed = self.started_at.elapsed().as_secs_f64();
        let mut down = Vec::new();
        for (ordinal, uid) in &self.original {
            let pod = now.get(ordinal);
            let replacing = pod.is_none_or(|pod| pod.terminating || &pod.uid != uid);
            if !replacing {
                continue;
            }
            if self.replaced_and_ready(*ordinal, now) {
                self.ready_after.entry(*ordinal).or_insert(elapsed);
            } else if !self.ready_after.contains_key(ordinal) {
                down.push(*ordinal);
            }
            if self.order.contains(ordinal) {
                continue;
            }
            self.order.push(*ordinal);
            let waiting: Vec<u32> = self
                .original
                .keys()
                .filter(|higher| *higher > ordinal && !self.was_replaced_and_ready(**higher, now))
                .copied()
                .collect();
            if !waiting.is_empty() {
                self.violations.push(format!(
                    "pod {ordinal} was replaced while pods {waiting:?} were not yet replaced and Ready"
                ));
            }
        }
        if down.len() > 1 {
            self.violations
                .push(format!("pods {down:?} were being replaced at once"));
        }
    }

    /// Every pod was replaced and its replacement is Ready.
    pub fn done(&self, now: &BTreeMap<u32, PodSnapshot>) -> bool {
        self.original
            .keys()
            .all(|ordinal| self.replaced_and_ready(*ordinal, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, ready: bool, terminating: bool) -> PodSnapshot {
        PodSnapshot {
            uid: uid.to_owned(),
            ready,
            terminating,
            revision: None,
            annotations: BTreeMap::new(),
        }
    }

    fn snapshot(pods: &[(u32, PodSnapshot)]) -> BTreeMap<u32, PodSnapshot> {
        pods.iter().cloned().collect()
    }

    #[test]
    fn an_orderly_rollout_passes() {
        let before = snapshot(&[
            (0, pod("a", true, false)),
            (1, pod("b", true, false)),
            (2, pod("c", true, false)),
        ]);
        let mut tracker = RolloutTracker::new(&before);
        let steps = [
            snapshot(&[
                (0, pod("a", true, false)),
                (1, pod("b", true, false)),
                (2, pod("c", false, true)),
            ]),
            snapshot(&[(0, pod("a", true, false)), (1, pod("b", true, false))]),
            snapshot(&[
                (0, pod("a", true, false)),
                (1, pod("b", true, false)),
                (2, pod("c2", false, false)),
            ]),
            snapshot(&[
                (0, pod("a", true, false)),
                (1, pod("b", true, false)),
                (2, pod("c2", true, false)),
            ]),
            snapshot(&[
                (0, pod("a", true, false)),
                (1, pod("b2", true, false)),
                (2, pod("c2", true, false)),
            ]),
            snapshot(&[
                (0, pod("a2", true, false)),
                (1, pod("b2", true, false)),
                (2, pod("c2", true, false)),
            ]),
        ];
        for step in &steps {
            tracker.observe(step);
        }
        assert_eq!(tracker.order, vec![2, 1, 0]);
        assert!(tracker.violations.is_empty(), "{:?}", tracker.violations);
        assert!(tracker.done(&steps[5]));
        assert!(!tracker.done(&steps[3]));
    }

    #[test]
    fn readiness_flickering_after_a_replacement_is_not_a_violation() {
        let before = snapshot(&[(0, pod("a", true, false)), (1, pod("b", true, false))]);
        let mut tracker = RolloutTracker::new(&before);
        tracker.observe(&snapshot(&[
            (0, pod("a", true, false)),
            (1, pod("b2", true, false)),
        ]));
        // Pod 0's pre-stop hand-off leaves a partition of pod 1 leaderless for a moment.
        tracker.observe(&snapshot(&[
            (0, pod("a", true, true)),
            (1, pod("b2", false, false)),
        ]));
        assert!(tracker.violations.is_empty(), "{:?}", tracker.violations);
        assert_eq!(tracker.order, vec![1, 0]);
    }

    #[test]
    fn not_waiting_for_readiness_or_the_wrong_order_is_a_violation() {
        let before = snapshot(&[(0, pod("a", true, false)), (1, pod("b", true, false))]);
        let mut tracker = RolloutTracker::new(&before);
        // Pod 1 replaced but not ready when pod 0 goes.
        tracker.observe(&snapshot(&[
            (0, pod("a", true, true)),
            (1, pod("b2", false, false)),
        ]));
        assert_eq!(tracker.violations.len(), 2, "{:?}", tracker.violations);
        // Lowest first.
        let mut tracker = RolloutTracker::new(&before);
        tracker.observe(&snapshot(&[(1, pod("b", true, false))]));
        assert_eq!(tracker.order, vec![0]);
        assert_eq!(tracker.violations.len(), 1);
    }
}
