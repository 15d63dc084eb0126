//! End-to-end self-repair of a member that stays down (issue 15): with
//! `spec.selfRepair.gracePeriodSeconds` short, a member stopped with SIGSTOP is waited for during the
//! grace period (no copy starts), then its replicas are rebuilt on the other members until every
//! partition has RF live voters without it; when it resumes, its replicas return to it and the
//! cluster is back on the plain ring. All under the recorded client load, with the history
//! checked and every acknowledged write read back.

#[allow(dead_code)]
mod rebalance_support;

use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use rebalance_support::*;
use ringcache_e2e::observer::{Observer, observed_placement};
use ringcache_e2e::workload::{Workload, WorkloadOptions};
use serde_json::json;

const SAMPLE_EVERY: Duration = Duration::from_millis(200);
const GRACE_SECONDS: u64 = 10;
const STEP_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_down_past_its_grace_period_is_replaced_and_gets_its_replicas_back() {
    if real_cluster() {
        eprintln!("RINGCACHE_E2E_REAL=1: skipped (needs to SIGSTOP a member's process)");
        return;
    }
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let env = Env::start(78, "lost", 4).await;
    env.api()
        .patch(
            env.name(),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"selfRepair": {"gracePeriodSeconds": GRACE_SECONDS}}})),
        )
        .await
        .expect("patch spec.selfRepair");
    let observer = Observer::start(env.client(), env.namespace(), env.name(), 4, SAMPLE_EVERY);
    assert_on_ring(&observer, 4).await;
    let workload = Workload::start(WorkloadOptions::new(env.stable_endpoints().await, "lost"));
    assert!(
        workload.wait_for_writes(50, Duration::from_secs(30)).await,
        "the load makes progress: {:?}",
        workload.counts()
    );

    let lost = 1;
    let moves_before = env.status().await.rebalance().moves_done;
    assert!(env.signal_member(lost, "STOP"));
    let stopped_at = Instant::now();
    eventually(
        "Degraded=True with reason UnderReplicated",
        Duration::from_secs(30),
        || async {
            env.status()
                .await
                .condition("Degraded")
                .is_some_and(|c| c.status == "True" && c.reason == "UnderReplicated")
        },
    )
    .await;
    // Within the grace period nothing is copied.
    while stopped_at.elapsed() < Duration::from_secs(GRACE_SECONDS - 3) {
        let rebalance = env.status().await.rebalance();
        assert!(
            rebalance.in_flight.is_empty() && rebalance.moves_done == moves_before,
            "a copy started {:?} after the member stopped, inside its grace period: {rebalance:?}",
            stopped_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Past it, every partition gets RF live voters without the lost member.
    eventually(
        "every partition has 3 voters, none on the stopped member",
        STEP_TIMEOUT,
        || async {
            let report = observer.fresh_report().await;
            let observed = observed_placement(report.last.values());
            (0..PARTITIONS).all(|partition| {
                observed.partitions.get(&partition).is_some_and(|view| {
                    view.leader.is_some()
                        && view.voters.len() == REPLICATION_FACTOR as usize
                        && !view.voters.contains(&lost)
                        && view.learners.is_empty()
                })
            })
        },
    )
    .await;
    let repaired_after = stopped_at.elapsed();
    eventually(
        "Degraded no longer UnderReplicated",
        Duration::from_secs(30),
        || async {
            env.status()
                .await
                .condition("Degraded")
                .is_some_and(|c| c.reason != "UnderReplicated")
        },
    )
    .await;
    let status = env.status().await;
    eprintln!(
        "e2e: member {lost} stopped; every partition back to {REPLICATION_FACTOR} live voters \
         {repaired_after:?} later (grace {GRACE_SECONDS} s); Degraded now {:?}",
        status.condition("Degraded").map(|c| c.reason)
    );
    assert!(
        repaired_after >= Duration::from_secs(GRACE_SECONDS),
        "repaired before the grace period ended"
    );

    // It resumes: the plain ring of 4 again, its replicas back on it.
    assert!(env.signal_member(lost, "CONT"));
    let resumed_at = Instant::now();
    eventually(
        "the resumed member is a voter again",
        STEP_TIMEOUT,
        || async {
            let report = observer.fresh_report().await;
            let observed = observed_placement(report.last.values());
            observed
                .partitions
                .values()
                .any(|view| view.voters.contains(&lost))
        },
    )
    .await;
    env.wait_rebalanced(4, STEP_TIMEOUT).await;
    assert_on_ring(&observer, 4).await;
    eprintln!(
        "e2e: member {lost} resumed; back on the ring of 4 in {:?}",
        resumed_at.elapsed()
    );
    let load = workload.stop().await;
    assert_data_intact(load, &env.endpoint(0).await).await;
    observer.stop().await;
    env.shutdown().await;
}
