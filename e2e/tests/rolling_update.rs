//! End-to-end: a change of the CacheCluster that lands in the pod template (here a pod annotation,
//! `spec.pod.annotations`) rolls the StatefulSet's pods as Kubernetes does — highest ordinal
//! first, one at a time, each replacement waiting until the previous pod is Ready again, the
//! preStop hook handing leadership away before SIGTERM, the volume (and so the Raft identity) kept
//! — while clients read and write: no partition is leaderless for more than 2 s, the history is
//! linearizable and nothing acknowledged is lost, and the CacheCluster ends Available.
//!
//! Against the stand-in the pod runner plays the StatefulSet controller's rolling update; with
//! `RINGCACHE_E2E_CONTROL_PLANE=real` kube-controller-manager does, and the runner is the kubelet.

#[allow(dead_code)]
mod rebalance_support;
#[allow(dead_code)]
mod repair_support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::Api;
use rebalance_support::*;
use repair_support::pods::{RolloutTracker, pods};
use repair_support::{member_ids, patch_spec, wait_condition, wait_settled};
use ringcache_e2e::observer::Observer;
use ringcache_e2e::pods::terminate::StopReason;
use ringcache_e2e::workload::{Workload, WorkloadOptions};

const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// Longest a partition may be without a leader while its members restart one by one.
const LEADERLESS_LIMIT: Duration = Duration::from_secs(2);
/// Generous bound for rolling three pods on a busy two-core machine.
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(240);
const ANNOTATION: &str = "e2e.ringcache.dev/rollout";

async fn statefulset(env: &Env) -> StatefulSet {
    Api::<StatefulSet>::namespaced(env.client(), env.namespace())
        .get(env.name())
        .await
        .expect("the StatefulSet exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_change_rolls_every_pod_highest_ordinal_first_under_load() {
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let env = Env::start(81, "roll", 3).await;
    let observer = Observer::start(env.client(), env.namespace(), env.name(), 3, SAMPLE_EVERY);
    wait_settled(&env, 3).await;
    let before = assert_on_ring(&observer, 3).await;
    let ids_before = member_ids(&before.last);
    let workload = Workload::start(WorkloadOptions::new(env.stable_endpoints().await, "roll"));
    assert!(
        workload.wait_for_writes(50, Duration::from_secs(30)).await,
        "the load makes progress: {:?}",
        workload.counts()
    );
    let revision_before = statefulset(&env)
        .await
        .status
        .and_then(|status| status.update_revision);
    let pods_before = pods(&env).await;
    assert_eq!(pods_before.len(), 3, "{pods_before:?}");
    let stops_before = env
        .local()
        .map_or(0, |local| local.runner().terminations().len());

    observer.reset(3);
    let started = Instant::now();
    patch_spec(
        &env,
        serde_json::json!({"pod": {"annotations": {ANNOTATION: "1"}}}),
    )
    .await;
    let mut tracker = RolloutTracker::new(&pods_before);
    let mut progressing_reasons: Vec<String> = Vec::new();
    loop {
        let now = pods(&env).await;
        tracker.observe(&now);
        let progressing = env.status().await.condition("Progressing");
        if let Some(reason) = progressing.map(|condition| condition.reason)
            && progressing_reasons.last() != Some(&reason)
        {
            progressing_reasons.push(reason);
        }
        if tracker.done(&now) {
            break;
        }
        assert!(
            started.elapsed() < ROLLOUT_TIMEOUT,
            "the rollout did not finish in {ROLLOUT_TIMEOUT:?}: replaced {:?}, pods {now:?}\n{}",
            tracker.order,
            env.operator_log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rolled = started.elapsed();
    eprintln!(
        "e2e: rolled {:?} in {rolled:?}; new pods Ready after {:?} s; Progressing reasons {progressing_reasons:?}",
        tracker.order, tracker.ready_after
    );
    assert_eq!(tracker.order, vec![2, 1, 0], "replacement order");
    assert!(tracker.violations.is_empty(), "{:?}", tracker.violations);

    // The StatefulSet says the rollout is complete, and every pod is of its new revision.
    let deadline = Instant::now() + Duration::from_secs(30);
    let update_revision = loop {
        let status = statefulset(&env).await.status.unwrap_or_default();
        let complete = status.current_revision == status.update_revision
            && status.updated_replicas == Some(3)
            && status.current_replicas == Some(3)
            && status.ready_replicas == Some(3);
        if complete {
            break status.update_revision;
        }
        assert!(
            Instant::now() < deadline,
            "StatefulSet status does not show a complete rollout: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(update_revision, revision_before, "a new revision");
    for (ordinal, pod) in pods(&env).await {
        assert_eq!(
            pod.revision, update_revision,
            "pod {ordinal}'s revision label"
        );
        assert_eq!(
            pod.annotations.get(ANNOTATION).map(String::as_str),
            Some("1"),
            "pod {ordinal} runs the new template"
        );
    }

    // How the old processes ended (local: the pod runner is the kubelet in both control planes).
    if let Some(local) = env.local() {
        let stops: Vec<_> = local.runner().terminations()[stops_before..].to_vec();
        let order: Vec<&str> = stops.iter().map(|stop| stop.pod.as_str()).collect();
        assert_eq!(order, ["roll-2", "roll-1", "roll-0"], "{stops:?}");
        for stop in &stops {
            assert_eq!(stop.reason, StopReason::PodDeleted, "{stop:?}");
            assert_eq!(
                stop.pre_stop,
                Some(Ok(200)),
                "the preStop hook ran: {stop:?}"
            );
            assert!(
                stop.exited_gracefully,
                "exited after SIGTERM, not killed: {stop:?}"
            );
            eprintln!(
                "e2e: {} stopped in {:?} (preStop {:?}: {})",
                stop.pod, stop.took, stop.pre_stop_took, stop.pre_stop_body
            );
        }
    }

    // The volumes were kept: every member still has its Raft id (an empty one draws a new one).
    let report = assert_on_ring(&observer, 3).await;
    assert_eq!(
        member_ids(&report.last),
        ids_before,
        "Raft ids changed: a volume was not kept"
    );
    let report = observer.report();
    assert!(
        report.samples > 20,
        "the observer sampled the rollout ({} samples)",
        report.samples
    );
    // No entry at all: no sample ever found a partition without a leader.
    let (partition, longest) = report.worst_leaderless().unwrap_or_default();
    eprintln!(
        "e2e: longest leaderless stretch during the rollout: p{partition} {longest:?} ({} samples)",
        report.samples
    );
    assert!(
        longest <= LEADERLESS_LIMIT,
        "partition {partition} was without a leader for {longest:?}"
    );
    let fewest = report.min_voters.values().min().copied().unwrap_or(0);
    assert!(
        fewest >= REPLICATION_FACTOR as usize,
        "a group lost a voter during the rollout: {:?}",
        report.min_voters
    );

    let (available, _) = wait_condition(
        &env,
        "Available",
        Duration::from_secs(60),
        "Available=True",
        |condition| condition.status == "True",
    )
    .await;
    eprintln!("e2e: Available: {}", available.message);
    env.wait_rebalanced(3, Duration::from_secs(60)).await;
    assert_leadership_balanced(&observer, 3, Duration::from_secs(30)).await;
    workload.wait_for_writes(20, Duration::from_secs(30)).await;
    let load = workload.stop().await;
    eprintln!("e2e: load {:?}", load.counts);
    assert!(
        load.counts.writes_ok > 0 && load.counts.reads_ok > 0,
        "{:?}",
        load.counts
    );
    assert_data_intact(load, &env.endpoint(0).await).await;
    observer.stop().await;
    env.shutdown().await;
}
