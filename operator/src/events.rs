//! Kubernetes Events for the notable steps of a reconcile, derived (purely) from the change between
//! the old and the new status, so a step is announced once, not on every reconcile.

use crate::api::{CacheCluster, CacheClusterStatus, ConditionType, RebalancePhase};
use crate::reconcile::status::find_condition;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use std::sync::{Arc, Mutex};

/// One Event to publish about a CacheCluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Whether it is a warning.
    pub warning: bool,
    /// Short PascalCase reason (`kubectl describe` shows it).
    pub reason: String,
    /// What the operator was doing. Events of one reason and action are folded into one series by
    /// kube's Recorder, so an action that must stay distinct (one replica move) names its object.
    pub action: String,
    /// A sentence.
    pub note: String,
}

/// Where Events go: the API server, or memory (tests), or nowhere.
#[derive(Clone)]
pub enum EventSink {
    /// Publish through kube's Recorder (events.k8s.io/v1).
    Kubernetes(Recorder),
    /// Keep them (tests).
    Memory(Arc<Mutex<Vec<Notice>>>),
}

impl EventSink {
    /// Publishes a notice about `cluster`. A failure is logged, never returned: an Event that cannot
    /// be written must not fail the reconcile.
    pub async fn publish(&self, cluster: &CacheCluster, notice: Notice) {
        match self {
            EventSink::Kubernetes(recorder) => {
                let event = Event {
                    type_: if notice.warning {
                        EventType::Warning
                    } else {
                        EventType::Normal
                    },
                    reason: notice.reason.clone(),
                    note: Some(notice.note.chars().take(1000).collect()),
                    action: notice.action.clone(),
                    secondary: None,
                };
                if let Err(error) = recorder.publish(&event, &cluster.object_ref(&())).await {
                    tracing::warn!(%error, reason = %notice.reason, "could not publish Event");
                }
            }
            EventSink::Memory(notices) => notices
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(notice),
        }
    }
}

/// A notice with its fields.
pub fn notice(warning: bool, reason: &str, action: &str, note: String) -> Notice {
    Notice {
        warning,
        reason: reason.to_owned(),
        action: action.to_owned(),
        note,
    }
}

/// The Events a reconcile that moved status from `old` to `new` should publish.
/// `statefulset_before` is the observed StatefulSet's replica count (`None`: it did not exist) and
/// `statefulset_after` the count just applied (`None`: nothing was applied).
pub fn notices(
    old: Option<&CacheClusterStatus>,
    new: &CacheClusterStatus,
    statefulset_before: Option<i32>,
    statefulset_after: Option<i32>,
) -> Vec<Notice> {
    let mut out = Vec::new();
    match (statefulset_before, statefulset_after) {
        (None, Some(after)) => out.push(notice(
            false,
            "Created",
            "Apply",
            format!("created the cluster's objects; StatefulSet with {after} pods"),
        )),
        (Some(before), Some(after)) if after > before => out.push(notice(
            false,
            "ScalingOut",
            "Apply",
            format!("StatefulSet grows from {before} to {after} pods"),
        )),
        (Some(before), Some(after)) if after < before => out.push(notice(
            false,
            "ScalingIn",
            "Apply",
            format!("StatefulSet shrinks from {before} to {after} pods (the removed members hold no data)"),
        )),
        _ => {}
    }
    let old_rebalance = old.and_then(|status| status.rebalance.as_ref());
    if let Some(rebalance) = &new.rebalance {
        let changed = old_rebalance.is_none_or(|old| {
            old.phase != rebalance.phase || old.to_members != rebalance.to_members
        });
        let reason = match rebalance.phase {
            RebalancePhase::Paused => Some("RebalancePaused"),
            RebalancePhase::Pending => Some("RebalancePending"),
            RebalancePhase::Moving | RebalancePhase::Draining => old_rebalance
                .is_none_or(|old| {
                    old.phase == RebalancePhase::Idle || old.to_members != rebalance.to_members
                })
                .then_some("RebalanceStarted"),
            RebalancePhase::Idle | RebalancePhase::Stalled => None,
        };
        if let Some(reason) = reason.filter(|_| changed) {
            out.push(notice(
                false,
                reason,
                "Rebalance",
                format!(
                    "{} -> {} members: {}",
                    rebalance.from_members, rebalance.to_members, rebalance.message
                ),
            ));
        }
    }
    let condition = |status: Option<&CacheClusterStatus>, kind| {
        status
            .and_then(|status| find_condition(status, kind))
            .map(|condition| {
                (
                    condition.status.clone(),
                    condition.reason.clone(),
                    condition.message.clone(),
                )
            })
    };
    let old_degraded = condition(old, ConditionType::Degraded);
    let new_degraded = condition(Some(new), ConditionType::Degraded);
    if let Some((status, reason, message)) = &new_degraded {
        let was = old_degraded
            .as_ref()
            .map(|(status, reason, _)| (status.as_str(), reason.as_str()));
        if status == "True" && was != Some(("True", reason.as_str())) {
            out.push(notice(true, reason, "Reconcile", message.clone()));
        }
        if status == "False" && was.is_some_and(|(status, _)| status == "True") {
            out.push(notice(
                false,
                "Recovered",
                "Reconcile",
                "the cluster is no longer degraded".to_owned(),
            ));
        }
    }
    let old_blocked = condition(old, ConditionType::ScaleInBlocked).map(|(status, ..)| status);
    if let Some((status, _, message)) = condition(Some(new), ConditionType::ScaleInBlocked) {
        let was_blocked = old_blocked.as_deref() == Some("True");
        if status == "True" && !was_blocked {
            out.push(notice(true, "ScaleInBlocked", "Scale", message));
        } else if status == "False" && was_blocked {
            out.push(notice(
                false,
                "ScaleInReleased",
                "Scale",
                "the remaining members can hold the data: the scale-in proceeds".to_owned(),
            ));
        }
    }
    let old_available = condition(old, ConditionType::Available).map(|(status, ..)| status);
    if let Some((status, _, message)) = condition(Some(new), ConditionType::Available)
        && status == "True"
        && old_available.as_deref() != Some("True")
    {
        out.push(notice(false, "Available", "Reconcile", message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ClusterPhase, RebalanceStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn condition(kind: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: kind.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: format!("{reason} message"),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    fn status(conditions: Vec<Condition>) -> CacheClusterStatus {
        CacheClusterStatus {
            phase: Some(ClusterPhase::Running),
            conditions,
            ..CacheClusterStatus::default()
        }
    }

    fn reasons(notices: &[Notice]) -> Vec<&str> {
        notices
            .iter()
            .map(|notice| notice.reason.as_str())
            .collect()
    }

    #[test]
    fn creation_and_availability() {
        let first = status(vec![condition(
            "Available",
            "False",
            "PartitionsWithoutQuorum",
        )]);
        assert_eq!(reasons(&notices(None, &first, None, Some(3))), ["Created"]);
        let up = status(vec![condition("Available", "True", "QuorumReady")]);
        assert_eq!(
            reasons(&notices(Some(&first), &up, Some(3), Some(3))),
            ["Available"]
        );
        assert!(notices(Some(&up), &up, Some(3), Some(3)).is_empty());
    }

    #[test]
    fn degraded_is_announced_once_per_reason() {
        let fine = status(vec![condition("Degraded", "False", "AsExpected")]);
        let invalid = status(vec![condition("Degraded", "True", "InvalidSpec")]);
        let events = notices(Some(&fine), &invalid, Some(3), None);
        assert_eq!(reasons(&events), ["InvalidSpec"]);
        assert!(events[0].warning);
        assert_eq!(events[0].note, "InvalidSpec message");
        assert!(notices(Some(&invalid), &invalid, Some(3), None).is_empty());
        assert_eq!(
            reasons(&notices(Some(&invalid), &fine, Some(3), Some(3))),
            ["Recovered"]
        );
    }

    #[test]
    fn scaling_steps() {
        let mut draining = status(Vec::new());
        draining.rebalance = Some(RebalanceStatus {
            phase: RebalancePhase::Draining,
            from_members: 4,
            to_members: 3,
            message: "moving".to_owned(),
            ..RebalanceStatus::default()
        });
        let events = notices(Some(&status(Vec::new())), &draining, Some(4), Some(4));
        assert_eq!(reasons(&events), ["RebalanceStarted"]);
        assert!(!events[0].warning);
        // Same phase, same target: nothing new to say.
        assert!(notices(Some(&draining), &draining, Some(4), Some(4)).is_empty());
        let mut growing = draining.clone();
        let rebalance = growing.rebalance.as_mut().unwrap();
        rebalance.to_members = 5;
        rebalance.phase = RebalancePhase::Moving;
        assert_eq!(
            reasons(&notices(Some(&draining), &growing, Some(4), Some(5))),
            ["ScalingOut", "RebalanceStarted"]
        );
        let mut paused = growing.clone();
        paused.rebalance.as_mut().unwrap().phase = RebalancePhase::Paused;
        assert_eq!(
            reasons(&notices(Some(&growing), &paused, Some(5), Some(5))),
            ["RebalancePaused"]
        );
    }

    #[test]
    fn a_held_scale_in_is_a_warning_once_and_its_release_is_told() {
        let free = status(vec![condition("ScaleInBlocked", "False", "NotBlocked")]);
        let held = status(vec![condition(
            "ScaleInBlocked",
            "True",
            "InsufficientMemory",
        )]);
        let events = notices(Some(&free), &held, Some(4), Some(4));
        assert_eq!(reasons(&events), ["ScaleInBlocked"]);
        assert!(events[0].warning);
        assert_eq!(events[0].note, "InsufficientMemory message");
        assert!(notices(Some(&held), &held, Some(4), Some(4)).is_empty());
        assert_eq!(
            reasons(&notices(Some(&held), &free, Some(4), Some(4))),
            ["ScaleInReleased"]
        );
    }
}
