//! The StatefulSet controller's rolling update, as pure decisions (what kube-controller-manager
//! v1.37 does in `pkg/controller/statefulset`, with its default `MaxUnavailableStatefulSet` gate):
//!
//! ```text
//!  revision of the pod template  = <statefulset>-<hash of .spec.template>
//!  pods carry it as label          controller-revision-hash
//!  missing pod, ordinal < partition: the current revision's template, else the update revision's
//!  unavailable = pods missing, terminating or not Ready (every ordinal)
//!  Parallel:     replace old-revision pods that are unavailable anyway (ordinal ≥ partition), then
//!                while unavailable < maxUnavailable, healthy old-revision pods, highest ordinal first
//!  OrderedReady: while unavailable < maxUnavailable, old-revision pods, highest ordinal first
//!  status:       currentRevision becomes updateRevision once every pod is updated and ready
//! ```
//!
//! With `maxUnavailable` 1 (the default) that is one pod at a time, highest ordinal first, each
//! replacement waiting until the previous one is Ready again. The revision hash is not the real
//! controller's (which hashes a ControllerRevision's patch bytes); no ControllerRevision objects are
//! written, so `kubectl rollout undo` has nothing to go back to.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

/// The pod label naming the revision a pod was created from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// FNV-1a, 32 bits (what Kubernetes hashes revisions with).
fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// apimachinery's `rand.SafeEncodeString`: no vowels, so no words in names.
fn safe_encode(text: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    text.bytes()
        .map(|byte| ALPHANUMS[usize::from(byte) % ALPHANUMS.len()] as char)
        .collect()
}

/// The name of the revision of `statefulset`'s pod template: `<name>-<hash>`. Any change of
/// `.spec.template` (image, resources, args, env, annotations, …) gives another name.
pub fn revision_name(statefulset: &StatefulSet) -> String {
    let template = serde_json::to_vec(&statefulset.spec.template).unwrap_or_default();
    format!(
        "{}-{}",
        statefulset.name_any(),
        safe_encode(&fnv32a(&template).to_string())
    )
}

/// How pods are replaced when the template changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStrategy {
    /// `RollingUpdate` (the default): ordinals ≥ `partition` are replaced, at most
    /// `max_unavailable` pods unavailable at a time.
    RollingUpdate {
        partition: i32,
        max_unavailable: i32,
        parallel: bool,
    },
    /// `OnDelete` (or a strategy this runner does not implement, such as `Recreate`): pods get the
    /// new template only when something else deletes them.
    OnDelete,
}

impl UpdateStrategy {
    /// Ordinals below it keep the current revision (also when recreated).
    pub fn partition(&self) -> i32 {
        match self {
            UpdateStrategy::RollingUpdate { partition, .. } => *partition,
            UpdateStrategy::OnDelete => 0,
        }
    }
}

/// `maxUnavailable` of `replicas`: a count, or a percentage rounded down; at least 1.
fn scaled(value: Option<&IntOrString>, replicas: i32) -> i32 {
    let count = match value {
        None => 1,
        Some(IntOrString::Int(count)) => *count,
        Some(IntOrString::String(text)) => text
            .strip_suffix('%')
            .and_then(|percent| percent.trim().parse::<i64>().ok())
            .map_or(1, |percent| {
                (percent * i64::from(replicas) / 100).clamp(0, i64::from(i32::MAX)) as i32
            }),
    };
    count.max(1)
}

/// The StatefulSet's update strategy, with defaults filled in as the API server would.
pub fn update_strategy(statefulset: &StatefulSet) -> UpdateStrategy {
    let strategy = statefulset.spec.update_strategy.as_ref();
    let kind = strategy
        .and_then(|strategy| strategy.type_.as_deref())
        .unwrap_or("RollingUpdate");
    if kind != "RollingUpdate" {
        return UpdateStrategy::OnDelete;
    }
    let rolling = strategy.and_then(|strategy| strategy.rolling_update.as_ref());
    let replicas = statefulset.spec.replicas.unwrap_or(1);
    UpdateStrategy::RollingUpdate {
        partition: rolling
            .and_then(|rolling| rolling.partition)
            .unwrap_or(0)
            .max(0),
        max_unavailable: scaled(
            rolling.and_then(|rolling| rolling.max_unavailable.as_ref()),
            replicas,
        ),
        parallel: statefulset.spec.pod_management_policy.as_deref() == Some("Parallel"),
    }
}

/// One existing pod of the StatefulSet, as the update sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// Its `controller-revision-hash` label.
    pub revision: Option<String>,
    /// Being deleted (or stopped by the runner).
    pub terminating: bool,
    /// Running and Ready.
    pub available: bool,
}

impl PodView {
    fn unavailable(&self) -> bool {
        self.terminating || !self.available
    }

    fn outdated(&self, update_revision: &str) -> bool {
        self.revision.as_deref() != Some(update_revision)
    }
}

/// The ordinals whose pods to delete now for the update. `pods[i]` is ordinal `i` (for `i` below
/// `spec.replicas`), `None` while it does not exist (missing pods count as unavailable: they are
/// being created).
pub fn pods_to_replace(
    pods: &[Option<PodView>],
    update_revision: &str,
    strategy: UpdateStrategy,
) -> Vec<i32> {
    let UpdateStrategy::RollingUpdate {
        partition,
        max_unavailable,
        parallel,
    } = strategy
    else {
        return Vec::new();
    };
    let unavailable = pods
        .iter()
        .filter(|pod| pod.as_ref().is_none_or(PodView::unavailable))
        .count() as i32;
    let unavailable_outdated = pods
        .iter()
        .flatten()
        .filter(|pod| pod.unavailable() && !pod.terminating && pod.outdated(update_revision))
        .count();
    if unavailable >= max_unavailable && (!parallel || unavailable_outdated == 0) {
        return Vec::new();
    }
    let targets = || {
        (0..pods.len() as i32)
            .rev()
            .filter(move |ordinal| *ordinal >= partition)
            .filter_map(|ordinal| Some((ordinal, pods[ordinal as usize].as_ref()?)))
    };
    let mut chosen = Vec::new();
    if parallel {
        // Old pods that are down anyway cost nothing to replace.
        chosen.extend(
            targets()
                .filter(|(_, pod)| {
                    pod.outdated(update_revision) && !pod.available && !pod.terminating
                })
                .map(|(ordinal, _)| ordinal),
        );
        let budget = (max_unavailable - unavailable).max(0) as usize;
        chosen.extend(
            targets()
                .filter(|(_, pod)| pod.outdated(update_revision) && !pod.unavailable())
                .map(|(ordinal, _)| ordinal)
                .take(budget),
        );
    } else {
        let budget = (max_unavailable - unavailable).max(0) as usize;
        chosen.extend(
            targets()
                .filter(|(_, pod)| pod.outdated(update_revision) && !pod.terminating)
                .map(|(ordinal, _)| ordinal)
                .take(budget),
        );
    }
    chosen
}

/// Which revision a missing pod of `ordinal` is created from: below the partition the current
/// one (when its template is known), else the update revision.
pub fn revision_for(
    ordinal: i32,
    strategy: UpdateStrategy,
    current_revision: &str,
    update_revision: &str,
) -> String {
    if ordinal < strategy.partition() {
        current_revision.to_owned()
    } else {
        update_revision.to_owned()
    }
}

/// The StatefulSet status counts of a rolling update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
    pub current_revision: String,
    pub update_revision: String,
}

/// Counts pods by revision (terminating pods count for neither) and completes the update once
/// every one of `spec_replicas` pods exists, is updated and is ready.
pub fn revision_status(
    pods: &[&PodView],
    spec_replicas: i32,
    current_revision: &str,
    update_revision: &str,
) -> RevisionStatus {
    let counting = |revision: &str| {
        pods.iter()
            .filter(|pod| !pod.terminating && pod.revision.as_deref() == Some(revision))
            .count() as i32
    };
    let mut status = RevisionStatus {
        replicas: pods.len() as i32,
        ready_replicas: pods
            .iter()
            .filter(|pod| pod.available && !pod.terminating)
            .count() as i32,
        current_replicas: counting(current_revision),
        updated_replicas: counting(update_revision),
        current_revision: current_revision.to_owned(),
        update_revision: update_revision.to_owned(),
    };
    if status.updated_replicas == spec_replicas
        && status.ready_replicas == spec_replicas
        && status.replicas == spec_replicas
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{RollingUpdateStatefulSetStrategy, StatefulSetUpdateStrategy};
    use std::collections::BTreeMap;

    const OLD: &str = "demo-old";
    const NEW: &str = "demo-new";

    fn pod(revision: &str, available: bool) -> Option<PodView> {
        Some(PodView {
            revision: Some(revision.to_owned()),
            terminating: false,
            available,
        })
    }

    fn terminating(revision: &str) -> Option<PodView> {
        Some(PodView {
            revision: Some(revision.to_owned()),
            terminating: true,
            available: false,
        })
    }

    fn rolling(partition: i32, max_unavailable: i32) -> UpdateStrategy {
        UpdateStrategy::RollingUpdate {
            partition,
            max_unavailable,
            parallel: true,
        }
    }

    /// Replays a whole update of `replicas` pods the way the runner drives it: each round deletes
    /// what [`pods_to_replace`] says, a deleted pod comes back updated (not ready), and a new pod
    /// turns ready one round later. Returns the ordinals in the order they were replaced, and
    /// checks that no round had more than `max_unavailable` pods down.
    fn replay(replicas: usize, strategy: UpdateStrategy, max_unavailable: usize) -> Vec<i32> {
        let mut pods: Vec<Option<PodView>> = (0..replicas).map(|_| pod(OLD, true)).collect();
        let mut order = Vec::new();
        for _round in 0..100 {
            // The pods created last round turn ready, the deleted ones are recreated updated.
            for slot in pods.iter_mut() {
                match slot {
                    Some(view) if view.terminating => *slot = pod(NEW, false),
                    Some(view) => view.available = true,
                    None => {}
                }
            }
            let chosen = pods_to_replace(&pods, NEW, strategy);
            for ordinal in &chosen {
                pods[*ordinal as usize] = terminating(OLD);
                order.push(*ordinal);
            }
            let down = pods
                .iter()
                .filter(|pod| pod.as_ref().is_none_or(|pod| pod.unavailable()))
                .count();
            assert!(
                down <= max_unavailable,
                "{down} pods down at once: {pods:?}"
            );
            if pods
                .iter()
                .flatten()
                .all(|pod| !pod.outdated(NEW) && pod.available)
            {
                break;
            }
        }
        order
    }

    #[test]
    fn one_pod_at_a_time_highest_ordinal_first() {
        assert_eq!(replay(3, rolling(0, 1), 1), vec![2, 1, 0]);
        assert_eq!(replay(5, rolling(0, 1), 1), vec![4, 3, 2, 1, 0]);
    }

    #[test]
    fn the_next_pod_waits_until_the_replaced_one_is_ready() {
        // Pod 2 was replaced and is not ready yet: nothing else goes.
        let pods = [pod(OLD, true), pod(OLD, true), pod(NEW, false)];
        assert!(pods_to_replace(&pods, NEW, rolling(0, 1)).is_empty());
        // Still being deleted: wait too.
        let pods = [pod(OLD, true), pod(OLD, true), terminating(OLD)];
        assert!(pods_to_replace(&pods, NEW, rolling(0, 1)).is_empty());
        // Missing (being recreated): wait.
        let pods = [pod(OLD, true), pod(OLD, true), None];
        assert!(pods_to_replace(&pods, NEW, rolling(0, 1)).is_empty());
        // Ready again: the next one.
        let pods = [pod(OLD, true), pod(OLD, true), pod(NEW, true)];
        assert_eq!(pods_to_replace(&pods, NEW, rolling(0, 1)), vec![1]);
    }

    #[test]
    fn nothing_to_do_when_every_pod_is_current() {
        let pods = [pod(NEW, true), pod(NEW, true), pod(NEW, true)];
        assert!(pods_to_replace(&pods, NEW, rolling(0, 1)).is_empty());
    }

    #[test]
    fn an_old_pod_that_is_down_anyway_is_replaced_at_once_under_parallel() {
        // Member 0 crashed on the old template: replacing it costs no availability.
        let pods = [pod(OLD, false), pod(OLD, true), pod(OLD, true)];
        assert_eq!(pods_to_replace(&pods, NEW, rolling(0, 1)), vec![0]);
        // OrderedReady waits for it instead.
        let ordered = UpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: 1,
            parallel: false,
        };
        assert!(pods_to_replace(&pods, NEW, ordered).is_empty());
    }

    #[test]
    fn the_partition_keeps_lower_ordinals() {
        assert_eq!(replay(4, rolling(2, 1), 1), vec![3, 2]);
        assert_eq!(revision_for(1, rolling(2, 1), OLD, NEW), OLD);
        assert_eq!(revision_for(2, rolling(2, 1), OLD, NEW), NEW);
    }

    #[test]
    fn max_unavailable_allows_several_at_once() {
        let pods: Vec<_> = (0..5).map(|_| pod(OLD, true)).collect();
        assert_eq!(pods_to_replace(&pods, NEW, rolling(0, 2)), vec![4, 3]);
        assert_eq!(replay(5, rolling(0, 2), 2), vec![4, 3, 2, 1, 0]);
    }

    #[test]
    fn on_delete_replaces_nothing() {
        let pods = [pod(OLD, true)];
        assert!(pods_to_replace(&pods, NEW, UpdateStrategy::OnDelete).is_empty());
    }

    fn statefulset(annotation: &str) -> StatefulSet {
        let mut statefulset = StatefulSet::default();
        statefulset.metadata.name = Some("demo".to_owned());
        statefulset.spec.replicas = Some(4);
        statefulset.spec.pod_management_policy = Some("Parallel".to_owned());
        statefulset.spec.template.metadata = Some(Default::default());
        statefulset
            .spec
            .template
            .metadata
            .as_mut()
            .unwrap()
            .annotations = Some(BTreeMap::from([("a".to_owned(), annotation.to_owned())]));
        statefulset
    }

    #[test]
    fn any_template_change_is_a_new_revision() {
        let one = revision_name(&statefulset("1"));
        assert_eq!(one, revision_name(&statefulset("1")), "stable");
        assert!(one.starts_with("demo-"));
        assert_ne!(one, revision_name(&statefulset("2")));
        let mut scaled = statefulset("1");
        scaled.spec.replicas = Some(7);
        assert_eq!(one, revision_name(&scaled), "replicas are not the template");
    }

    #[test]
    fn strategy_defaults_and_fields() {
        let mut set = statefulset("1");
        assert_eq!(update_strategy(&set), rolling(0, 1));
        set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateStatefulSetStrategy {
                partition: Some(2),
                max_unavailable: Some(IntOrString::String("50%".to_owned())),
            }),
        });
        assert_eq!(update_strategy(&set), rolling(2, 2));
        set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some("OnDelete".to_owned()),
            rolling_update: None,
        });
        assert_eq!(update_strategy(&set), UpdateStrategy::OnDelete);
        assert_eq!(scaled(Some(&IntOrString::String("10%".to_owned())), 3), 1);
    }

    #[test]
    fn status_completes_when_every_pod_is_updated_and_ready() {
        let views = [pod(NEW, true), pod(OLD, true), pod(NEW, false)];
        let refs: Vec<&PodView> = views.iter().flatten().collect();
        let status = revision_status(&refs, 3, OLD, NEW);
        assert_eq!(
            (status.current_replicas, status.updated_replicas),
            (1, 2),
            "{status:?}"
        );
        assert_eq!(status.current_revision, OLD);
        let views = [pod(NEW, true), pod(NEW, true), pod(NEW, true)];
        let refs: Vec<&PodView> = views.iter().flatten().collect();
        let status = revision_status(&refs, 3, OLD, NEW);
        assert_eq!(status.current_revision, NEW);
        assert_eq!((status.current_replicas, status.updated_replicas), (3, 3));
    }
}
