//! Rebalance progress (pure): from the mover's decision, the calls' outcomes and the previous status,
//! the `rebalance` status, the moves that finished (for Events and metrics) and whether a move
//! stalled. The plan itself is never read back from status: only counters and timestamps carry over.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use ringcache_placement::{Decision, ObservedCluster};

use super::mover::{ActionResult, FailureReason};
use super::ring::RingDecision;
use crate::api::{MoveStatus, RebalancePhase, RebalanceSpec, RebalanceStatus};

/// A move that finished this round.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedMove {
    pub partition: i32,
    pub from: i32,
    pub to: i32,
    pub seconds: f64,
    pub keys: i64,
}

/// A move without progress for longer than the deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    pub partition: i32,
    pub from: i32,
    pub to: i32,
    pub step: String,
    pub seconds: i64,
    pub last_error: String,
}

impl Stall {
    /// The sentence status and the Warning Event carry.
    pub fn message(&self) -> String {
        let mut message = format!(
            "partition {} (member {} -> member {}) has made no progress at step {} for {}s",
            self.partition, self.from, self.to, self.step, self.seconds
        );
        if !self.last_error.is_empty() {
            message.push_str(&format!("; last error: {}", self.last_error));
        }
        message
    }
}

/// Everything the round changed about rebalancing.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub rebalance: RebalanceStatus,
    pub finished: Vec<FinishedMove>,
    /// Moves that started this round.
    pub started: u32,
    /// Calls that failed, by category.
    pub failures: Vec<FailureReason>,
    /// The first stalled move, if any.
    pub stall: Option<Stall>,
    /// Seconds the rebalance took, when it ended this round.
    pub completed_after: Option<f64>,
}

impl Progress {
    /// This round followed by `next`, a later round of the same reconcile (tracked with this
    /// round's `rebalance` as its previous status): the status and stall are `next`'s, the moves
    /// started and finished and the failures are those of both.
    pub fn then(mut self, next: Progress) -> Progress {
        self.finished.extend(next.finished);
        self.failures.extend(next.failures);
        Progress {
            rebalance: next.rebalance,
            finished: self.finished,
            started: self.started + next.started,
            failures: self.failures,
            stall: next.stall,
            completed_after: next.completed_after.or(self.completed_after),
        }
    }
}

fn seconds_between(earlier: &Time, later: &Time) -> f64 {
    (later.0.as_millisecond() - earlier.0.as_millisecond()) as f64 / 1000.0
}

fn ordinal(member: Option<u32>) -> i32 {
    member.map_or(-1, |member| member as i32)
}

/// Tracks the round.
pub fn track(
    previous: Option<&RebalanceStatus>,
    ring: &RingDecision,
    decision: &Decision,
    observed: &ObservedCluster,
    results: &[ActionResult],
    spec: &RebalanceSpec,
    now: &Time,
) -> Progress {
    let previous = previous.cloned().unwrap_or_default();
    let carried: &[MoveStatus] = &previous.in_flight;
    let failures: Vec<FailureReason> = results
        .iter()
        .filter_map(|result| result.failure.as_ref().map(|(reason, _)| *reason))
        .collect();
    let error_of = |partition: u32| {
        results
            .iter()
            .filter(|result| result.action.partition() == Some(partition))
            .find_map(|result| result.failure.as_ref().map(|(_, message)| message.clone()))
    };

    let mut in_flight = Vec::new();
    let mut started = 0;
    for view in &decision.in_flight {
        let partition = view.partition as i32;
        let before = carried.iter().find(|entry| entry.partition == partition);
        let from = view.from.map(|replica| replica.member);
        // The same move goes on while its giver is unchanged (or no longer shown, after removal).
        let same_move = before.filter(|entry| from.is_none_or(|from| entry.from == from as i32));
        let to = view.to.map_or_else(
            || same_move.map_or(-1, |entry| entry.to),
            |member| member as i32,
        );
        let keys_copied = if to >= 0 {
            observed
                .members
                .get(&(to as u32))
                .and_then(|member| member.keys.get(&view.partition))
                .copied()
                .unwrap_or(0) as i64
        } else {
            same_move.map_or(0, |entry| entry.keys_copied)
        };
        let copied_index = observed.groups.get(&view.partition).and_then(|group| {
            let receiver = observed.members.get(&(to.max(0) as u32))?;
            (*group.matched.get(&receiver.id)?).map(|index| index as i64)
        });
        let step = view.step.name().to_owned();
        // Only forward movement counts: a new leader knows nothing of the receiver's index yet,
        // and a receiver that does not answer reports no keys, so neither resets the clock.
        let copied_index = copied_index.or(same_move.and_then(|entry| entry.copied_index));
        let progressed = same_move.is_none_or(|entry| {
            entry.step != step
                || keys_copied > entry.keys_copied
                || copied_index > entry.copied_index
        });
        let keys_copied = same_move.map_or(keys_copied, |entry| {
            if entry.step == step {
                keys_copied.max(entry.keys_copied)
            } else {
                keys_copied
            }
        });
        if same_move.is_none() {
            started += 1;
        }
        let last_error = error_of(view.partition)
            .or_else(|| view.blocked.map(|blocked| blocked.to_string()))
            .or_else(|| {
                same_move
                    .filter(|_| !progressed)
                    .map(|entry| entry.last_error.clone())
            })
            .unwrap_or_default();
        in_flight.push(MoveStatus {
            partition,
            from: same_move.map_or(ordinal(from), |entry| {
                if from.is_some() {
                    ordinal(from)
                } else {
                    entry.from
                }
            }),
            to,
            step,
            started: same_move.map_or_else(|| now.clone(), |entry| entry.started.clone()),
            last_progress: if progressed {
                now.clone()
            } else {
                same_move.map_or_else(|| now.clone(), |entry| entry.last_progress.clone())
            },
            keys_copied,
            copied_index,
            last_error,
        });
    }

    // A move that left the in-flight list finished if its receiver is now a voter and its giver
    // is not; otherwise it was abandoned (a change of target) and is not counted.
    let finished: Vec<FinishedMove> = carried
        .iter()
        .filter(|entry| {
            !in_flight
                .iter()
                .any(|now| now.partition == entry.partition && now.from == entry.from)
        })
        .filter(|entry| {
            let Some(group) = observed.groups.get(&(entry.partition as u32)) else {
                return false;
            };
            let receiver_votes = entry.to < 0 || group.has_voter(entry.to as u32);
            let giver_gone = entry.from < 0
                || !group
                    .voters
                    .iter()
                    .any(|replica| replica.member == entry.from as u32 && !replica.stale);
            receiver_votes && giver_gone
        })
        .map(|entry| FinishedMove {
            partition: entry.partition,
            from: entry.from,
            to: entry.to,
            seconds: seconds_between(&entry.started, now),
            keys: entry.keys_copied,
        })
        .collect();

    let (mut done, mut total, mut rebalance_started) = if ring.adopted {
        (0, 0, None)
    } else {
        (
            previous.moves_done,
            previous.moves_total,
            previous.started.clone(),
        )
    };
    done += finished.len() as i32;
    total = total.max(done + decision.remaining_moves as i32);
    let idle = decision.placement_done && decision.leadership_balanced;
    if !idle && rebalance_started.is_none() {
        rebalance_started = Some(now.clone());
    }
    let completed_after = if idle {
        rebalance_started
            .take()
            .map(|started| seconds_between(&started, now))
    } else {
        None
    };

    let deadline = i64::from(spec.progress_deadline_seconds);
    let stall = in_flight
        .iter()
        .map(|entry| (entry, seconds_between(&entry.last_progress, now) as i64))
        .filter(|(_, quiet)| *quiet > deadline)
        .max_by_key(|(_, quiet)| *quiet)
        .map(|(entry, quiet)| Stall {
            partition: entry.partition,
            from: entry.from,
            to: entry.to,
            step: entry.step.clone(),
            seconds: quiet,
            last_error: entry.last_error.clone(),
        });

    let draining = ring.statefulset_replicas > ring.members;
    let has_work = !decision.placement_done || !in_flight.is_empty();
    let phase = if idle {
        RebalancePhase::Idle
    } else if stall.is_some() {
        RebalancePhase::Stalled
    } else if spec.paused && in_flight.is_empty() {
        RebalancePhase::Paused
    } else if has_work && in_flight.is_empty() && decision.actions.is_empty() {
        RebalancePhase::Pending
    } else if draining {
        RebalancePhase::Draining
    } else {
        RebalancePhase::Moving
    };
    let message = message(phase, decision, observed, &in_flight, done, total, &stall);
    Progress {
        rebalance: RebalanceStatus {
            phase,
            from_members: ring.from_members,
            to_members: ring.members,
            moves_done: done,
            moves_total: total,
            progress: format!("{done}/{total}"),
            started: rebalance_started,
            in_flight,
            message,
        },
        finished,
        started,
        failures,
        stall,
        completed_after,
    }
}

fn message(
    phase: RebalancePhase,
    decision: &Decision,
    observed: &ObservedCluster,
    in_flight: &[MoveStatus],
    done: i32,
    total: i32,
    stall: &Option<Stall>,
) -> String {
    let silent = &observed.silent;
    let moves: Vec<String> = in_flight
        .iter()
        .take(4)
        .map(|entry| {
            format!(
                "p{}:{}->{} {}",
                entry.partition, entry.from, entry.to, entry.step
            )
        })
        .collect();
    let blocked: Vec<String> = decision
        .blocked
        .iter()
        .take(3)
        .map(|(partition, why)| format!("partition {partition}: {why}"))
        .collect();
    match phase {
        RebalancePhase::Idle => "every partition is where the ring places it".to_owned(),
        RebalancePhase::Stalled => stall.as_ref().map(Stall::message).unwrap_or_default(),
        RebalancePhase::Paused => format!(
            "spec.rebalance.paused holds the remaining {} moves ({done}/{total} done)",
            decision.remaining_moves
        ),
        RebalancePhase::Pending if decision.remaining_moves == 0 => format!(
            "the ring looks in place, but members {} do not answer: what they hold is unknown",
            silent
                .iter()
                .map(|member| member.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RebalancePhase::Pending => format!(
            "{} moves wait: {}",
            decision.remaining_moves,
            if blocked.is_empty() {
                "no move can start yet".to_owned()
            } else {
                blocked.join("; ")
            }
        ),
        RebalancePhase::Moving | RebalancePhase::Draining => {
            if decision.placement_done {
                "balancing leadership over the members".to_owned()
            } else {
                format!("{done}/{total} moves done; in flight: {}", moves.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_placement::{
        Blocked, MoveStep, MoveView, ObservedGroup, ObservedReplica, PartitionCount, Placement,
        PlacementSpec,
    };

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn replica(member: u32) -> ObservedReplica {
        ObservedReplica {
            id: (u64::from(member) << 48) | 1,
            member,
            stale: false,
        }
    }

    /// A scale-out 3 -> 4 whose move of partition 0 to member 3 is at catch-up.
    fn ring() -> RingDecision {
        RingDecision {
            version: 2,
            from_members: 3,
            members: 4,
            adopted: false,
            statefulset_replicas: 4,
            target: Placement::compute(PlacementSpec {
                members: 4,
                partitions: PartitionCount::new(4).unwrap(),
                replication_factor: 3,
                seed: 0,
            })
            .unwrap(),
        }
    }

    fn catching_up(last_progress: i64) -> RebalanceStatus {
        RebalanceStatus {
            phase: RebalancePhase::Moving,
            from_members: 3,
            to_members: 4,
            moves_total: 3,
            in_flight: vec![MoveStatus {
                partition: 0,
                from: 2,
                to: 3,
                step: "catch-up".to_owned(),
                started: time(0),
                last_progress: time(last_progress),
                keys_copied: 10,
                copied_index: Some(50),
                last_error: String::new(),
            }],
            ..RebalanceStatus::default()
        }
    }

    fn decision() -> Decision {
        Decision {
            in_flight: vec![MoveView {
                partition: 0,
                from: Some(replica(2)),
                to: Some(3),
                step: MoveStep::CatchUp,
                blocked: Some(Blocked::ReceiverNotAnswering(3)),
            }],
            remaining_moves: 3,
            ..Decision::default()
        }
    }

    #[test]
    fn a_stopped_receiver_stalls_even_when_its_group_changes_leader() {
        // Member 3 stopped answering; partition 0 elected member 1, which knows nothing of member
        // 3's log yet (no matched index), and member 3 reports no keys.
        let mut observed = ObservedCluster::default();
        observed.groups.insert(
            0,
            ObservedGroup {
                voters: vec![replica(0), replica(1), replica(2)],
                learners: vec![replica(3)],
                leader: Some(1),
                ..ObservedGroup::default()
            },
        );
        let spec = RebalanceSpec {
            progress_deadline_seconds: 30,
            ..RebalanceSpec::default()
        };
        let previous = catching_up(0);
        let progress = track(
            Some(&previous),
            &ring(),
            &decision(),
            &observed,
            &[],
            &spec,
            &time(40),
        );
        let stall = progress.stall.expect("no progress for 40 s");
        assert_eq!((stall.partition, stall.to, stall.seconds), (0, 3, 40));
        assert_eq!(progress.rebalance.phase, RebalancePhase::Stalled);
        let entry = &progress.rebalance.in_flight[0];
        assert_eq!((entry.keys_copied, entry.copied_index), (10, Some(50)));

        // The receiver answers again and its log advances: progress, the stall clears.
        observed.members.insert(
            3,
            ringcache_placement::ObservedMember {
                id: replica(3).id,
                ..Default::default()
            },
        );
        observed.groups.get_mut(&0).unwrap().matched = [(replica(3).id, Some(60))].into();
        let resumed = track(
            Some(&previous),
            &ring(),
            &decision(),
            &observed,
            &[],
            &spec,
            &time(41),
        );
        assert_eq!(resumed.stall, None);
        assert_eq!(resumed.rebalance.in_flight[0].last_progress, time(41));
    }

    #[test]
    fn rounds_of_one_reconcile_count_a_finished_move_once() {
        let spec = RebalanceSpec::default();
        let previous = catching_up(0);
        let mut observed = ObservedCluster::default();
        observed.groups.insert(
            0,
            ObservedGroup {
                voters: vec![replica(0), replica(1), replica(2)],
                learners: vec![replica(3)],
                leader: Some(0),
                ..ObservedGroup::default()
            },
        );
        let catching = Decision {
            in_flight: vec![MoveView {
                blocked: None,
                ..decision().in_flight[0]
            }],
            ..decision()
        };
        let first = track(
            Some(&previous),
            &ring(),
            &catching,
            &observed,
            &[],
            &spec,
            &time(1),
        );
        assert!(first.finished.is_empty());

        // The next round of the same reconcile sees the move done: member 3 votes, 2 is gone.
        observed.groups.get_mut(&0).unwrap().voters = vec![replica(0), replica(1), replica(3)];
        observed.groups.get_mut(&0).unwrap().learners = vec![];
        let done = Decision {
            remaining_moves: 2,
            ..Decision::default()
        };
        let second = track(
            Some(&first.rebalance),
            &ring(),
            &done,
            &observed,
            &[],
            &spec,
            &time(2),
        );
        let third = track(
            Some(&second.rebalance),
            &ring(),
            &done,
            &observed,
            &[],
            &spec,
            &time(3),
        );
        let merged = first.then(second).then(third);
        assert_eq!(merged.finished.len(), 1, "{:?}", merged.finished);
        assert_eq!((merged.finished[0].from, merged.finished[0].to), (2, 3));
        assert_eq!(merged.rebalance.moves_done, 1);
        assert_eq!(merged.started, 0);
        assert!(merged.rebalance.in_flight.is_empty());
    }
}
