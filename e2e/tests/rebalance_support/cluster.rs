//! Reading and driving the CacheCluster (status, scale, pause, Events) and the checks every
//! scenario makes once a scale step has converged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::api::{ListParams, Patch, PatchParams};
use ringcache_e2e::final_reads::FinalReads;
use ringcache_e2e::observer::{
    self, Observer, ObserverReport, hosting_flaps, leadership_balanced, matches_ring,
    observed_placement, replicas_added, replicas_dropped,
};
use ringcache_e2e::workload::WorkloadReport;
use serde::Deserialize;

use super::{Env, PARTITIONS, PlanPreview, REPLICATION_FACTOR};

/// The CacheCluster as last read: its generation and status.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub generation: i64,
    pub status: serde_json::Value,
}

/// One condition of the status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub observed_generation: Option<i64>,
}

/// `status.rebalance` (fields the operator does not write read as defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RebalanceView {
    pub phase: String,
    pub from_members: i64,
    pub to_members: i64,
    pub moves_done: i64,
    pub moves_total: i64,
    pub progress: String,
    pub in_flight: Vec<InFlightView>,
    pub message: String,
}

/// `status.rebalance.inFlight[*]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InFlightView {
    pub partition: i64,
    pub from: i64,
    pub to: i64,
    pub step: String,
    pub last_error: Option<String>,
}

impl ClusterView {
    pub fn condition(&self, kind: &str) -> Option<ConditionView> {
        self.status["conditions"]
            .as_array()?
            .iter()
            .filter_map(|value| ConditionView::deserialize(value).ok())
            .find(|condition| condition.type_ == kind)
    }

    pub fn rebalance(&self) -> RebalanceView {
        RebalanceView::deserialize(&self.status["rebalance"]).unwrap_or_default()
    }

    pub fn ring_version(&self) -> i64 {
        self.status["ringVersion"].as_i64().unwrap_or(0)
    }

    pub fn ring_members(&self) -> i64 {
        self.status["ringMembers"].as_i64().unwrap_or(0)
    }

    /// The scale step to `members` is finished as the operator reports it: rebalance `Idle`, the
    /// ring has `members` members, and `Rebalancing` is `False` for the current generation.
    pub fn rebalanced_to(&self, members: u32) -> bool {
        let rebalancing_done = self.condition("Rebalancing").is_some_and(|condition| {
            condition.status == "False" && condition.observed_generation == Some(self.generation)
        });
        self.rebalance().phase == "Idle"
            && self.ring_members() == i64::from(members)
            && rebalancing_done
    }

    /// `Degraded=True` with reason `RebalanceStalled`.
    pub fn stalled(&self) -> bool {
        self.condition("Degraded").is_some_and(|condition| {
            condition.status == "True" && condition.reason == "RebalanceStalled"
        })
    }
}

/// One Event the operator wrote about the cluster.
#[derive(Debug, Clone)]
pub struct EventView {
    pub type_: String,
    pub note: String,
    /// How many times it happened (an Event series counts repeats in one object).
    pub count: usize,
}

impl Env {
    pub async fn status(&self) -> ClusterView {
        match self.api().get(self.name()).await {
            Ok(object) => ClusterView {
                generation: object.metadata.generation.unwrap_or(0),
                status: object.data.get("status").cloned().unwrap_or_default(),
            },
            Err(_) => ClusterView::default(),
        }
    }

    /// `kubectl scale cc/<name> --replicas=<members>`: a patch of the scale subresource.
    pub async fn scale(&self, members: u32) {
        self.api()
            .patch_scale(
                self.name(),
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"replicas": members}})),
            )
            .await
            .expect("patch the scale subresource");
    }

    /// Sets `spec.rebalance.paused`.
    pub async fn set_paused(&self, paused: bool) {
        self.api()
            .patch(
                self.name(),
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"rebalance": {"paused": paused}}})),
            )
            .await
            .expect("patch spec.rebalance.paused");
    }

    /// Sets `spec.rebalance.maxConcurrentMoves`. Tests that act in the middle of a scale use 1:
    /// a move takes well under a second, and several at a time finish a small scale before a
    /// test can act on it.
    pub async fn set_max_concurrent_moves(&self, moves: u32) {
        self.api()
            .patch(
                self.name(),
                &PatchParams::default(),
                &Patch::Merge(
                    serde_json::json!({"spec": {"rebalance": {"maxConcurrentMoves": moves}}}),
                ),
            )
            .await
            .expect("patch spec.rebalance.maxConcurrentMoves");
    }

    /// Waits until [`ClusterView::rebalanced_to`] `members`; returns how long it took.
    pub async fn wait_rebalanced(&self, members: u32, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let view = self.status().await;
            if view.rebalanced_to(members) {
                return started.elapsed();
            }
            if started.elapsed() > timeout {
                panic!(
                    "not rebalanced to {members} members within {timeout:?}; status: {}\n\
                     operator log tail:\n{}",
                    serde_json::to_string_pretty(&view.status).unwrap_or_default(),
                    self.operator_log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Events about this CacheCluster (the operator writes `events.k8s.io/v1`).
    pub async fn events(&self, reason: &str) -> Vec<EventView> {
        let api: kube::Api<k8s_openapi::api::events::v1::Event> =
            kube::Api::namespaced(self.client(), self.namespace());
        let Ok(list) = api.list(&ListParams::default()).await else {
            return Vec::new();
        };
        list.items
            .into_iter()
            .filter(|event| {
                event.reason.as_deref() == Some(reason)
                    && event
                        .regarding
                        .as_ref()
                        .is_some_and(|object| object.name.as_deref() == Some(self.name()))
            })
            .map(|event| EventView {
                type_: event.type_.unwrap_or_default(),
                note: event.note.unwrap_or_default(),
                count: event
                    .series
                    .map_or(1, |series| usize::try_from(series.count).unwrap_or(1)),
            })
            .collect()
    }

    /// How many `ReplicaMoved` Events were reported in all.
    pub async fn replica_moved_count(&self) -> usize {
        self.events("ReplicaMoved")
            .await
            .iter()
            .map(|event| event.count)
            .sum()
    }

    /// Scrapes the operator's `metric{namespace,name}` for this cluster (`None`: not reachable, or
    /// no such sample).
    pub async fn operator_metric(&self, metric: &str) -> Option<f64> {
        let url = self.operator_metrics_url()?;
        let body = super::http_get(&url).await.ok()?;
        super::metric_value(
            &body,
            metric,
            &[("namespace", self.namespace()), ("name", self.name())],
        )
    }
}

/// `(partition, from, to)` of a `ReplicaMoved` note like "partition 12: member 0 -> member 3 in
/// 1.2s".
pub fn parse_moved_note(note: &str) -> Option<(u32, i64, i64)> {
    let rest = note.strip_prefix("partition ")?;
    let (partition, rest) = rest.split_once(':')?;
    let rest = rest.trim().strip_prefix("member ")?;
    let (from, rest) = rest.split_once(" -> member ")?;
    let to = rest.split_whitespace().next()?;
    Some((
        partition.trim().parse().ok()?,
        from.trim().parse().ok()?,
        to.parse().ok()?,
    ))
}

/// Moves reported more than once among `events` (by the notes that name them).
pub fn repeated_moves(events: &[EventView]) -> Vec<String> {
    let mut seen: BTreeMap<(u32, i64, i64), usize> = BTreeMap::new();
    for event in events {
        if let Some(key) = parse_moved_note(&event.note) {
            *seen.entry(key).or_default() += event.count;
        }
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|((partition, from, to), count)| format!("p{partition}:{from}->{to} ×{count}"))
        .collect()
}

/// The data plane is the ring of `members` (a fresh sample; a few seconds of grace for the sample
/// to catch up with what the operator saw). Returns the report of that sample.
pub async fn assert_on_ring(observer: &Observer, members: u32) -> ObserverReport {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let report = observer.fresh_report().await;
        let observed = observed_placement(report.last.values());
        match matches_ring(&observed, members, PARTITIONS, REPLICATION_FACTOR) {
            Ok(()) => return report,
            Err(error) if Instant::now() >= deadline => {
                panic!("the observed placement is not the {members}-member ring: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Every member leads ⌊P/N⌋ or ⌈P/N⌉ partitions, within `timeout` (leadership can wander with an
/// election; the operator is expected to bring it back).
pub async fn assert_leadership_balanced(observer: &Observer, members: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let report = observer.fresh_report().await;
        match leadership_balanced(&observed_placement(report.last.values()), members) {
            Ok(()) => return,
            Err(error) if Instant::now() >= deadline => panic!("{error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The moves the data plane shows for one step towards the `to`-member ring equal the preview: as
/// many replicas received and given up as `plan` said, none against the ring (no move undone or
/// repeated), and never fewer than RF voters.
pub fn assert_moves_match_preview(report: &ObserverReport, to: u32, preview: PlanPreview) {
    let target = observer::ring(to, PARTITIONS, REPLICATION_FACTOR).expect("the ring");
    let mut hosting = report.hosting.clone();
    hosting.close_removed(to);
    let flaps = hosting_flaps(&hosting, &target);
    assert!(flaps.is_empty(), "moves undone or repeated: {flaps:?}");
    assert_eq!(
        replicas_added(&hosting),
        preview.replicas_moved,
        "replicas received (observed) vs the plan preview"
    );
    assert_eq!(
        replicas_dropped(&hosting),
        preview.replicas_moved,
        "replicas given up (observed) vs the plan preview"
    );
    let below: Vec<_> = report
        .min_voters
        .iter()
        .filter(|(_, voters)| **voters < REPLICATION_FACTOR as usize)
        .collect();
    assert!(
        below.is_empty(),
        "partitions that went below RF voters: {below:?}"
    );
}

/// Reads every key of the workload back through `endpoint` and checks the final values and the
/// whole history (on a blocking thread: the search is CPU-bound). Returns the final values.
pub async fn assert_data_intact(report: WorkloadReport, endpoint: &str) -> FinalReads {
    let finals = FinalReads::read(endpoint, &report.keys, Duration::from_secs(60))
        .await
        .expect("every key can be read back");
    let checked = finals.clone();
    let started = Instant::now();
    let verdict = tokio::task::spawn_blocking(move || report.verify(&checked))
        .await
        .expect("checker thread");
    eprintln!(
        "e2e: history and final reads checked in {:?}",
        started.elapsed()
    );
    if let Err(error) = verdict {
        panic!("{error}");
    }
    finals
}

/// Keys written in an earlier step, not touched since, still read the same.
pub async fn assert_unchanged(earlier: &FinalReads, endpoint: &str) {
    let keys: Vec<Vec<u8>> = earlier.values.keys().cloned().collect();
    let now = FinalReads::read(endpoint, &keys, Duration::from_secs(60))
        .await
        .expect("earlier keys can be read back");
    let changed: Vec<String> = earlier
        .values
        .iter()
        .filter(|(key, value)| now.values.get(*key) != Some(value))
        .map(|(key, _)| String::from_utf8_lossy(key).into_owned())
        .collect();
    assert!(
        changed.is_empty(),
        "keys of an earlier step changed or were lost: {changed:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status as the interface agreed with the operator describes it.
    fn view(
        phase: &str,
        ring_members: i64,
        rebalancing: &str,
        generation_seen: i64,
    ) -> ClusterView {
        ClusterView {
            generation: 4,
            status: serde_json::json!({
                "ringVersion": 3,
                "ringMembers": ring_members,
                "rebalance": {
                    "phase": phase, "fromMembers": 3, "toMembers": 5, "movesDone": 7,
                    "movesTotal": 19, "progress": "7/19",
                    "inFlight": [{"partition": 12, "from": -1, "to": 3, "step": "catch-up",
                                  "started": "2026-01-01T00:00:00Z",
                                  "lastProgress": "2026-01-01T00:00:01Z", "keysCopied": 10,
                                  "lastError": "timeout"}],
                    "message": "moving"
                },
                "conditions": [
                    {"type": "Rebalancing", "status": rebalancing, "reason": "Moving",
                     "message": "", "observedGeneration": generation_seen},
                    {"type": "Degraded", "status": "True", "reason": "RebalanceStalled",
                     "message": "partition 12: member 3, step catch-up", "observedGeneration": 4}
                ]
            }),
        }
    }

    #[test]
    fn the_agreed_status_fields_are_read() {
        let moving = view("Moving", 5, "True", 4);
        let rebalance = moving.rebalance();
        assert_eq!((rebalance.moves_done, rebalance.moves_total), (7, 19));
        assert_eq!(rebalance.in_flight[0].step, "catch-up");
        assert_eq!(
            (rebalance.in_flight[0].from, rebalance.in_flight[0].to),
            (-1, 3)
        );
        assert_eq!(
            rebalance.in_flight[0].last_error.as_deref(),
            Some("timeout")
        );
        assert_eq!(moving.ring_version(), 3);
        assert!(moving.stalled());
        assert!(!moving.rebalanced_to(5));
        assert!(view("Idle", 5, "False", 4).rebalanced_to(5));
        assert!(
            !view("Idle", 4, "False", 4).rebalanced_to(5),
            "another ring"
        );
        assert!(
            !view("Idle", 5, "False", 3).rebalanced_to(5),
            "an older generation"
        );
        assert!(!ClusterView::default().rebalanced_to(3), "no status yet");
    }

    #[test]
    fn moved_notes_name_the_move() {
        assert_eq!(
            parse_moved_note("partition 12: member 0 -> member 3 in 1.2s"),
            Some((12, 0, 3))
        );
        assert_eq!(
            parse_moved_note("partition 1: member -1 -> member 4"),
            Some((1, -1, 4))
        );
        assert_eq!(parse_moved_note("rebalance done"), None);
        let event = |note: &str, count| EventView {
            type_: "Normal".to_owned(),
            note: note.to_owned(),
            count,
        };
        let events = [
            event("partition 1: member 0 -> member 3 in 1s", 1),
            event("partition 2: member 0 -> member 3 in 1s", 1),
            event("partition 1: member 0 -> member 3 in 2s", 1),
        ];
        assert_eq!(repeated_moves(&events), vec!["p1:0->3 ×2".to_owned()]);
    }
}
