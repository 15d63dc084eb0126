//! The status phase (pure): from what was observed and decided to `CacheCluster.status`.
//!
//! Conditions carry the generation they were computed for; a condition keeps its
//! `lastTransitionTime` while its status does not change.

use super::apply::ApplyWarning;
use super::findings::{self, Findings, Verdict};
use super::observe::Observed;
use super::progress::Progress;
use super::ring::RingDecision;
use super::validate::ValidSpec;
use crate::api::{
    CacheCluster, CacheClusterStatus, ClusterPhase, ConditionType, MemberStatus, RebalancePhase,
    RebalanceStatus,
};
use crate::build::ClusterIdentity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use ringcache_placement::ObservedCluster;

/// What the reconcile did, as far as status is concerned.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The spec is invalid; nothing was applied.
    Invalid {
        /// The problems, one sentence each.
        problems: &'a [String],
    },
    /// Every object was applied.
    Applied {
        /// The validated spec.
        valid: &'a ValidSpec,
        /// The ring decision.
        ring: &'a RingDecision,
        /// Things that were skipped but are worth telling.
        warnings: &'a [ApplyWarning],
        /// Where rebalancing stands (`None` until the cluster is formed).
        progress: Option<&'a Progress>,
    },
    /// Applying an object failed (the reconcile is retried).
    ApplyFailed {
        /// The validated spec.
        valid: &'a ValidSpec,
        /// The ring decision.
        ring: &'a RingDecision,
        /// What failed, in a sentence.
        error: &'a str,
    },
}

fn condition(
    previous: &[Condition],
    kind: ConditionType,
    value: Verdict,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if value.status { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|condition| condition.type_ == kind.as_str() && condition.status == status)
        .map_or_else(
            || now.clone(),
            |condition| condition.last_transition_time.clone(),
        );
    Condition {
        type_: kind.as_str().to_owned(),
        status: status.to_owned(),
        reason: value.reason.to_owned(),
        message: value.message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// The status for this reconcile.
pub fn compute_status(
    cluster: &CacheCluster,
    identity: &ClusterIdentity,
    observed: &Observed,
    placement: &ObservedCluster,
    findings: &Findings,
    outcome: Outcome<'_>,
    now: Time,
) -> CacheClusterStatus {
    let previous = cluster.status.clone().unwrap_or_default();
    let generation = cluster.metadata.generation;
    let sts_status = observed
        .statefulset
        .as_ref()
        .and_then(|statefulset| statefulset.status.clone());
    let replicas = sts_status.as_ref().map_or(0, |status| status.replicas);
    let ready_replicas = sts_status
        .as_ref()
        .and_then(|status| status.ready_replicas)
        .unwrap_or(0);
    let mut status = CacheClusterStatus {
        observed_generation: generation,
        replicas,
        ready_replicas,
        selector: Some(identity.selector_string()),
        ..previous.clone()
    };

    let (valid, ring, progress, degraded_by) = match outcome {
        Outcome::Invalid { problems } => {
            // Nothing was applied: keep what status said about the cluster's objects and ring,
            // and report the spec's problems.
            status.phase = Some(ClusterPhase::Invalid);
            let degraded = condition(
                &previous.conditions,
                ConditionType::Degraded,
                Verdict {
                    status: true,
                    reason: "InvalidSpec",
                    message: problems.join("; "),
                },
                generation,
                &now,
            );
            // Every condition says which generation it describes: the others keep their status but
            // now speak for this generation too (`kubectl wait` reads observedGeneration).
            let others = previous.conditions.into_iter().map(|mut condition| {
                condition.observed_generation = generation;
                condition
            });
            status.conditions = replace_condition(others.collect(), degraded);
            return status;
        }
        Outcome::Applied {
            valid,
            ring,
            warnings,
            progress,
        } => {
            let degraded = warnings.first().map(|warning| Verdict {
                status: true,
                reason: warning.reason(),
                message: warning.message(),
            });
            (valid, ring, progress, degraded)
        }
        Outcome::ApplyFailed { valid, ring, error } => (
            valid,
            ring,
            None,
            Some(Verdict {
                status: true,
                reason: "ApplyFailed",
                message: error.to_owned(),
            }),
        ),
    };

    status.partitions = Some(valid.partitions.get() as i32);
    status.ring_version = ring.version;
    status.ring_members = ring.members;
    let rebalance = match progress {
        Some(progress) => progress.rebalance.clone(),
        // Not formed yet (or an apply failure): keep what was known, aimed at the current target.
        None => RebalanceStatus {
            from_members: ring.from_members,
            to_members: ring.members,
            ..previous
                .rebalance
                .clone()
                .unwrap_or_else(|| RebalanceStatus {
                    progress: "0/0".to_owned(),
                    ..RebalanceStatus::default()
                })
        },
    };
    status.rebalance = Some(rebalance.clone());
    let loads = ring.loads();
    let leads = placement.leader_counts();
    let member_count = replicas.max(observed.statefulset_replicas().unwrap_or(0));
    status.members = (0..member_count)
        .map(|ordinal| {
            let pod = identity.pod_name(ordinal);
            let member = ordinal as u32;
            MemberStatus {
                ordinal,
                ready: observed.pod_ready(&pod),
                pod,
                in_ring: ordinal < ring.members,
                assigned_replicas: loads.get(ordinal as usize).copied().unwrap_or(0) as i32,
                hosted_replicas: placement
                    .members
                    .get(&member)
                    .map(|observed| observed.hosted.len() as i32),
                leader_of: leads.get(&member).copied().unwrap_or(0) as i32,
                used_memory_bytes: placement
                    .members
                    .get(&member)
                    .map(|observed| observed.used_memory as i64),
                keys: placement
                    .members
                    .get(&member)
                    .map(|observed| observed.keys.values().sum::<u64>() as i64),
                not_answering_since: findings.absences.since.get(&member).cloned(),
            }
        })
        .collect();
    status.spread = findings::spread(placement, ring.members.max(0) as u32);

    // Available: every partition has a leader and a live majority, as the members report.
    let available = findings::available(findings.health.as_ref(), valid.replication_factor);

    // Progressing: the StatefulSet is rolling out, the cluster is starting for the first time, or
    // a scale operation is pending.
    let rolling_out = match (&observed.statefulset, &sts_status) {
        (None, _) | (_, None) => true,
        (Some(statefulset), Some(sts)) => {
            sts.observed_generation < statefulset.metadata.generation
                || sts.replicas != ring.statefulset_replicas
                || sts.updated_replicas.unwrap_or(0) < sts.replicas
        }
    };
    let has_been_up = matches!(
        previous.phase,
        Some(ClusterPhase::Running | ClusterPhase::Scaling | ClusterPhase::Degraded)
    );
    let starting = !has_been_up && ready_replicas < replicas;
    let rebalance_pending = rebalance.phase != RebalancePhase::Idle;
    let scale_in_blocked = findings::scale_in_blocked(findings.scale_in.as_ref());
    let progressing = if let Some(block) = &findings.scale_in
        && !rebalance_pending
    {
        Verdict {
            status: false,
            reason: "ScaleInBlocked",
            message: block.message(),
        }
    } else if rebalance_pending {
        Verdict {
            status: true,
            reason: match rebalance.phase {
                RebalancePhase::Draining => "Draining",
                RebalancePhase::Paused => "RebalancePaused",
                RebalancePhase::Stalled => "RebalanceStalled",
                RebalancePhase::Pending => "RebalancePending",
                RebalancePhase::Moving | RebalancePhase::Idle => "Rebalancing",
            },
            message: rebalance.message.clone(),
        }
    } else if rolling_out || starting {
        Verdict {
            status: true,
            reason: if rolling_out {
                "RollingOut"
            } else {
                "Starting"
            },
            message: format!(
                "StatefulSet {}: {ready_replicas} of {} pods ready",
                identity.statefulset_name(),
                ring.statefulset_replicas
            ),
        }
    } else {
        Verdict {
            status: false,
            reason: "Reconciled",
            message: "all objects match the spec and every pod is ready".to_owned(),
        }
    };

    let not_ready: Vec<String> = status
        .members
        .iter()
        .filter(|member| member.in_ring && !member.ready)
        .map(|member| member.pod.clone())
        .collect();
    let stall = progress.and_then(|progress| progress.stall.as_ref());
    // Until the cluster was up once, missing leaders are its first elections, not a fault
    // (`Available` says it is not serving yet); during a rollout each restarting pod leaves its
    // partitions one voter short for a moment, which `Progressing`/`RollingOut` already says.
    let from_health = findings::degraded_by_health(
        findings.health.as_ref(),
        valid.replication_factor,
        &findings.absences,
    )
    .filter(|verdict| has_been_up && !(rolling_out && verdict.reason == "UnderReplicated"));
    // A stalled move names what to fix; health names what it costs (the members that do not
    // answer are often the stall's cause).
    let stalled = stall.map(|stall| Verdict {
        status: true,
        reason: "RebalanceStalled",
        message: stall.message(),
    });
    // Members refusing the cluster secret explain a stall or missing health, so they go first.
    let rejected =
        findings::degraded_by_secret(&findings.rejected_secret, &identity.cluster_secret_name());
    let degraded = degraded_by
        .or(rejected)
        .or(stalled)
        .or(from_health)
        .unwrap_or_else(|| {
            if !not_ready.is_empty() && !rolling_out && !starting {
                Verdict {
                    status: true,
                    reason: "MembersNotReady",
                    message: format!("ring members not ready: {}", not_ready.join(", ")),
                }
            } else {
                Verdict {
                    status: false,
                    reason: "AsExpected",
                    message: String::new(),
                }
            }
        });

    let rebalancing = Verdict {
        status: matches!(
            rebalance.phase,
            RebalancePhase::Moving | RebalancePhase::Draining | RebalancePhase::Stalled
        ),
        reason: match rebalance.phase {
            RebalancePhase::Idle => "Idle",
            RebalancePhase::Paused => "Paused",
            RebalancePhase::Pending => "WaitingForMembers",
            RebalancePhase::Moving => "Moving",
            RebalancePhase::Draining => "Draining",
            RebalancePhase::Stalled => "Stalled",
        },
        message: rebalance.message.clone(),
    };

    status.phase = Some(if degraded.status {
        ClusterPhase::Degraded
    } else if rebalance_pending {
        ClusterPhase::Scaling
    } else if available.status {
        ClusterPhase::Running
    } else {
        ClusterPhase::Creating
    });
    let conditions = [
        (ConditionType::Available, available),
        (ConditionType::Progressing, progressing),
        (ConditionType::Degraded, degraded),
        (ConditionType::Rebalancing, rebalancing),
        (ConditionType::ScaleInBlocked, scale_in_blocked),
    ];
    status.conditions = conditions
        .into_iter()
        .map(|(kind, value)| condition(&previous.conditions, kind, value, generation, &now))
        .collect();
    status
}

/// `conditions` with the one of `new`'s type replaced (or added), in [`ConditionType::ALL`] order.
fn replace_condition(conditions: Vec<Condition>, new: Condition) -> Vec<Condition> {
    let mut conditions: Vec<Condition> = conditions
        .into_iter()
        .filter(|condition| condition.type_ != new.type_)
        .collect();
    conditions.push(new);
    let rank = |condition: &Condition| {
        ConditionType::ALL
            .iter()
            .position(|kind| kind.as_str() == condition.type_)
            .unwrap_or(ConditionType::ALL.len())
    };
    conditions.sort_by_key(rank);
    conditions
}

/// The condition of a type, if present.
pub fn find_condition(status: &CacheClusterStatus, kind: ConditionType) -> Option<&Condition> {
    status
        .conditions
        .iter()
        .find(|condition| condition.type_ == kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::cluster;
    use crate::reconcile::ring::{Holders, decide_ring};
    use crate::reconcile::validate::validate;
    use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetStatus};
    use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn pod(name: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "Ready".to_owned(),
                    status: if ready { "True" } else { "False" }.to_owned(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    /// A StatefulSet with `replicas` pods, `ready` of them ready, fully rolled out otherwise.
    fn observed(replicas: i32, ready: &[bool]) -> Observed {
        let ready_count = ready.iter().filter(|&&ready| ready).count() as i32;
        Observed {
            statefulset: Some(StatefulSet {
                metadata: ObjectMeta {
                    generation: Some(1),
                    ..ObjectMeta::default()
                },
                spec: StatefulSetSpec {
                    replicas: Some(replicas),
                    ..StatefulSetSpec::default()
                },
                status: Some(StatefulSetStatus {
                    observed_generation: Some(1),
                    replicas,
                    ready_replicas: Some(ready_count),
                    updated_replicas: Some(replicas),
                    ..StatefulSetStatus::default()
                }),
            }),
            pods: ready
                .iter()
                .enumerate()
                .map(|(ordinal, &ready)| pod(&format!("demo-{ordinal}"), ready))
                .collect(),
        }
    }

    /// The ring's placement as its members would report it: members whose pods are not ready do
    /// not answer, and a group whose leader is among them has elected a live voter.
    fn placement_of(ring: &RingDecision, observed: &Observed) -> ObservedCluster {
        let mut placement =
            ringcache_placement::simulate::settled(&ring.target, ring.members as u32);
        for ordinal in 0..ring.members {
            if !observed.pod_ready(&format!("demo-{ordinal}")) {
                placement.members.remove(&(ordinal as u32));
            }
        }
        let answering: Vec<u32> = placement.members.keys().copied().collect();
        for group in placement.groups.values_mut() {
            if group
                .leader
                .is_some_and(|leader| !answering.contains(&leader))
            {
                group.leader = group
                    .voters
                    .iter()
                    .map(|voter| voter.member)
                    .find(|member| answering.contains(member));
            }
        }
        placement
    }

    fn status_of(cluster: &CacheCluster, observed: &Observed, now: i64) -> CacheClusterStatus {
        let identity = ClusterIdentity::of(cluster).unwrap();
        let valid = validate(cluster).unwrap();
        let ring = decide_ring(
            cluster,
            &valid,
            observed.statefulset_replicas(),
            Holders::NotFormed,
        );
        let placement = placement_of(&ring, observed);
        let findings = Findings {
            health: (!observed.pods.is_empty()).then(|| {
                ringcache_placement::health(&placement, valid.partitions, valid.replication_factor)
            }),
            ..Findings::default()
        };
        compute_status(
            cluster,
            &identity,
            observed,
            &placement,
            &findings,
            Outcome::Applied {
                valid: &valid,
                ring: &ring,
                warnings: &[],
                progress: None,
            },
            time(now),
        )
    }

    fn summary(status: &CacheClusterStatus) -> Vec<(String, String, String)> {
        status
            .conditions
            .iter()
            .map(|condition| {
                (
                    condition.type_.clone(),
                    condition.status.clone(),
                    condition.reason.clone(),
                )
            })
            .collect()
    }

    fn expected(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn a_healthy_cluster_is_available_and_settled() {
        let cluster = cluster(3);
        let status = status_of(&cluster, &observed(3, &[true, true, true]), 100);
        assert_eq!(
            summary(&status),
            expected(&[
                ("Available", "True", "QuorumReady"),
                ("Progressing", "False", "Reconciled"),
                ("Degraded", "False", "AsExpected"),
                ("Rebalancing", "False", "Idle"),
                ("ScaleInBlocked", "False", "NotBlocked"),
            ])
        );
        assert_eq!(status.phase, Some(ClusterPhase::Running));
        assert_eq!(status.observed_generation, Some(1));
        assert!(
            status
                .conditions
                .iter()
                .all(|condition| condition.observed_generation == Some(1))
        );
        assert_eq!((status.replicas, status.ready_replicas), (3, 3));
        assert_eq!(
            status.selector.as_deref(),
            Some("app.kubernetes.io/instance=demo,app.kubernetes.io/name=ringcache")
        );
        assert_eq!((status.ring_version, status.ring_members), (1, 3));
        assert_eq!(status.partitions, Some(64));
        assert_eq!(status.members.len(), 3);
        assert_eq!(status.members[2].assigned_replicas, 64);
        assert!(
            status
                .members
                .iter()
                .all(|member| member.ready && member.in_ring)
        );
    }

    #[test]
    fn one_member_down_keeps_quorum_but_is_degraded() {
        let mut cluster = cluster(3);
        cluster.status = Some(status_of(&cluster, &observed(3, &[true; 3]), 50));
        let status = status_of(&cluster, &observed(3, &[true, false, true]), 100);
        let degraded = find_condition(&status, ConditionType::Degraded).unwrap();
        assert_eq!(degraded.status, "True");
        assert_eq!(degraded.reason, "UnderReplicated");
        let all: Vec<String> = (0..64).map(|partition| partition.to_string()).collect();
        assert_eq!(
            degraded.message,
            format!(
                "64 partitions have fewer than 3 live voters: {}",
                all.join(", ")
            )
        );
        assert_eq!(
            find_condition(&status, ConditionType::Available)
                .unwrap()
                .status,
            "True"
        );
    }

    #[test]
    fn two_members_down_lose_quorum() {
        let cluster = cluster(3);
        let status = status_of(&cluster, &observed(3, &[true, false, false]), 100);
        let available = find_condition(&status, ConditionType::Available).unwrap();
        assert_eq!(available.status, "False");
        assert_eq!(available.reason, "PartitionsWithoutQuorum");
        assert!(
            available.message.starts_with(
                "64 partitions cannot commit writes (no leader or no live majority): 0, 1,"
            ),
            "{}",
            available.message
        );
    }

    #[test]
    fn a_new_cluster_is_creating_and_progressing() {
        let cluster = cluster(3);
        let status = status_of(&cluster, &Observed::default(), 100);
        assert_eq!(status.phase, Some(ClusterPhase::Creating));
        assert_eq!(
            find_condition(&status, ConditionType::Progressing)
                .unwrap()
                .reason,
            "RollingOut"
        );
        assert_eq!(
            find_condition(&status, ConditionType::Degraded)
                .unwrap()
                .status,
            "False"
        );
    }

    #[test]
    fn a_scale_in_in_progress_is_draining() {
        use ringcache_placement::{Options, Placement, PlacementSpec, decide, simulate};
        let mut cluster = cluster(3);
        cluster.status = Some(CacheClusterStatus {
            ring_version: 1,
            ring_members: 4,
            ..CacheClusterStatus::default()
        });
        let valid = validate(&cluster).unwrap();
        let four = Placement::compute(PlacementSpec {
            members: 4,
            partitions: valid.partitions,
            replication_factor: 3,
            seed: 0,
        })
        .unwrap();
        let observed_placement = simulate::settled(&four, 4);
        let holders = Holders::of(true, &observed_placement, valid.partitions.get());
        let ring = decide_ring(&cluster, &valid, Some(4), holders);
        assert_eq!((ring.version, ring.statefulset_replicas), (2, 4));
        let options = Options {
            max_concurrent_moves: 1,
            paused: false,
        };
        let decision = decide(&observed_placement, &ring.target, options);
        let progress = super::super::progress::track(
            None,
            &ring,
            &decision,
            &observed_placement,
            &[],
            &cluster.spec.rebalance,
            &time(100),
        );
        let identity = ClusterIdentity::of(&cluster).unwrap();
        let status = compute_status(
            &cluster,
            &identity,
            &observed(4, &[true; 4]),
            &observed_placement,
            &Findings::default(),
            Outcome::Applied {
                valid: &valid,
                ring: &ring,
                warnings: &[],
                progress: Some(&progress),
            },
            time(100),
        );
        assert_eq!(status.phase, Some(ClusterPhase::Scaling));
        let progressing = find_condition(&status, ConditionType::Progressing).unwrap();
        assert_eq!(
            (progressing.status.as_str(), progressing.reason.as_str()),
            ("True", "Draining")
        );
        let rebalancing = find_condition(&status, ConditionType::Rebalancing).unwrap();
        assert_eq!(
            (rebalancing.status.as_str(), rebalancing.reason.as_str()),
            ("True", "Draining")
        );
        let rebalance = status.rebalance.unwrap();
        assert_eq!((rebalance.moves_done, rebalance.moves_total), (0, 48));
        assert_eq!(rebalance.in_flight.len(), 1);
        assert_eq!(rebalance.in_flight[0].from, 3);
        assert_eq!(rebalance.in_flight[0].step, "host");
        assert_eq!(status.members[3].assigned_replicas, 0);
        assert_eq!(status.members[3].hosted_replicas, Some(48));
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let mut cluster = cluster(3);
        let first = status_of(&cluster, &observed(3, &[true, true, true]), 100);
        cluster.status = Some(first);
        cluster.metadata.generation = Some(2);
        let second = status_of(&cluster, &observed(3, &[true, false, true]), 200);
        let time_of = |status: &CacheClusterStatus, kind| {
            find_condition(status, kind)
                .unwrap()
                .last_transition_time
                .clone()
        };
        assert_eq!(time_of(&second, ConditionType::Available), time(100));
        assert_eq!(time_of(&second, ConditionType::Degraded), time(200));
        assert!(
            second
                .conditions
                .iter()
                .all(|condition| condition.observed_generation == Some(2))
        );
    }

    #[test]
    fn an_invalid_spec_is_degraded_and_nothing_else_moves() {
        let mut cluster = cluster(3);
        cluster.status = Some(status_of(&cluster, &observed(3, &[true; 3]), 100));
        cluster.spec.replicas = 2;
        cluster.metadata.generation = Some(2);
        let identity = ClusterIdentity::of(&cluster).unwrap();
        let problems = validate(&cluster).unwrap_err();
        let status = compute_status(
            &cluster,
            &identity,
            &observed(3, &[true; 3]),
            &ObservedCluster::default(),
            &Findings::default(),
            Outcome::Invalid {
                problems: &problems,
            },
            time(300),
        );
        assert_eq!(status.phase, Some(ClusterPhase::Invalid));
        let degraded = find_condition(&status, ConditionType::Degraded).unwrap();
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", "InvalidSpec")
        );
        assert_eq!(degraded.observed_generation, Some(2));
        assert!(degraded.message.contains("spec.replicas (2)"));
        let available = find_condition(&status, ConditionType::Available).unwrap();
        assert_eq!(available.status, "True", "not recomputed");
        assert_eq!(
            available.observed_generation,
            Some(2),
            "every condition speaks for the generation it was written for"
        );
        assert_eq!(status.ring_members, 3);
        assert_eq!(
            status
                .conditions
                .iter()
                .map(|condition| condition.type_.as_str())
                .collect::<Vec<_>>(),
            [
                "Available",
                "Progressing",
                "Degraded",
                "Rebalancing",
                "ScaleInBlocked"
            ]
        );
    }

    #[test]
    fn apply_failures_and_warnings_are_degraded() {
        let cluster = cluster(3);
        let identity = ClusterIdentity::of(&cluster).unwrap();
        let valid = validate(&cluster).unwrap();
        let ring = decide_ring(&cluster, &valid, Some(3), Holders::NotFormed);
        let failed = compute_status(
            &cluster,
            &identity,
            &observed(3, &[true; 3]),
            &ObservedCluster::default(),
            &Findings::default(),
            Outcome::ApplyFailed {
                valid: &valid,
                ring: &ring,
                error: "apply StatefulSet cache/demo: forbidden",
            },
            time(1),
        );
        let degraded = find_condition(&failed, ConditionType::Degraded).unwrap();
        assert_eq!(degraded.reason, "ApplyFailed");
        assert_eq!(failed.phase, Some(ClusterPhase::Degraded));
        let warned = compute_status(
            &cluster,
            &identity,
            &observed(3, &[true; 3]),
            &ObservedCluster::default(),
            &Findings::default(),
            Outcome::Applied {
                valid: &valid,
                ring: &ring,
                warnings: &[ApplyWarning::ServiceMonitorCrdMissing],
                progress: None,
            },
            time(1),
        );
        assert_eq!(
            find_condition(&warned, ConditionType::Degraded)
                .unwrap()
                .reason,
            "ServiceMonitorCRDMissing"
        );
    }
}
