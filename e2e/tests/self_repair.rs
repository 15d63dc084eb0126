//! End-to-end self-repair and health from the Raft state, each under the rebalancing tests' load
//! (2 plain and 2 cluster-aware clients over 300 keys, every operation recorded, the history checked
//! for linearizability and every key's last acknowledged value read back at the end):
//!
//! - a member whose data directory is wiped comes back with a new Raft id and is re-added to every
//!   partition (RF voters with live ids everywhere) within a measured bound;
//! - two voters of one partition removed by hand through the admin API: `Degraded=True`,
//!   `UnderReplicated`, naming the partition, then repaired and `Degraded=False`;
//! - two of a partition's three voters stopped (SIGSTOP): `Available=False`,
//!   `PartitionsWithoutQuorum`, naming the partition; after SIGCONT, `Available=True`.
//!
//! The last two need the operator's health from Raft state (conditions computed from what the
//! members report, not from pod readiness).

#[allow(dead_code)]
mod rebalance_support;
#[allow(dead_code)]
mod repair_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rebalance_support::*;
use repair_support::*;
use ringcache_admin::Role;
use ringcache_e2e::observer::{self, Observer};
use ringcache_e2e::workload::{Workload, WorkloadOptions};

const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// Bound for putting every partition back to RF voters with live ids.
const REPAIR_TIMEOUT: Duration = Duration::from_secs(120);
/// "Within seconds": how long a condition may take to say what the members report.
const CONDITION_TIMEOUT: Duration = Duration::from_secs(30);

async fn start_load(env: &Env, prefix: &str) -> Workload {
    let workload = Workload::start(WorkloadOptions::new(env.stable_endpoints().await, prefix));
    assert!(
        workload.wait_for_writes(50, Duration::from_secs(30)).await,
        "the load makes progress: {:?}",
        workload.counts()
    );
    workload
}

/// The end of every scenario: the cluster is back on its ring, Available, not Degraded, and the
/// load's history and final values check out.
async fn assert_recovered(env: &Env, observer: &Observer, members: u32, workload: Workload) {
    wait_condition(env, "Available", Duration::from_secs(60), "True", |c| {
        c.status == "True"
    })
    .await;
    env.wait_rebalanced(members, Duration::from_secs(120)).await;
    assert_on_ring(observer, members).await;
    wait_condition(env, "Degraded", Duration::from_secs(60), "False", |c| {
        c.status == "False"
    })
    .await;
    workload.wait_for_writes(20, Duration::from_secs(30)).await;
    let load = workload.stop().await;
    eprintln!("e2e: load {:?}", load.counts);
    assert!(load.counts.writes_ok > 0, "{:?}", load.counts);
    assert_data_intact(load, &env.endpoint(0).await).await;
}

/// Member 1's process is frozen, its data directory deleted, and the process killed: the pod runner
/// (the kubelet) restarts it on an empty volume, so it draws a new Raft id; the operator re-adds it
/// to every partition, whose groups still name the old id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_member_is_re_added_everywhere_under_load() {
    if real_cluster() {
        eprintln!("RINGCACHE_E2E_REAL=1: skipped (deletes a member's data directory)");
        return;
    }
    const WIPED: u32 = 1;
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let env = Env::start(82, "wiped", 3).await;
    let observer = Observer::start(env.client(), env.namespace(), env.name(), 3, SAMPLE_EVERY);
    let before = assert_on_ring(&observer, 3).await;
    let old_id = member_ids(&before.last)[&WIPED];
    wait_settled(&env, 3).await;
    let workload = start_load(&env, "wiped").await;
    let pod = format!("{}-{WIPED}", env.name());
    let data_dir = env
        .local()
        .expect("a local cluster")
        .runner()
        .pod_data_dir(env.namespace(), &pod);
    assert!(
        std::fs::read_dir(&data_dir).is_ok_and(|mut entries| entries.next().is_some()),
        "{} holds the member's state",
        data_dir.display()
    );

    observer.reset(3);
    assert!(env.signal_member(WIPED, "STOP"));
    std::fs::remove_dir_all(&data_dir).expect("delete the data directory");
    let wiped_at = Instant::now();
    assert!(env.signal_member(WIPED, "KILL"));

    let mut new_id = old_id;
    while new_id == old_id {
        assert!(
            wiped_at.elapsed() < Duration::from_secs(60),
            "member {WIPED} did not come back with a new Raft id"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(status) = observer.fresh_report().await.last.get(&WIPED) {
            new_id = status.member.id;
        }
    }
    let back_after = wiped_at.elapsed();
    let repaired = wait_replicated(&observer, wiped_at, REPAIR_TIMEOUT).await;
    let report = observer.report();
    eprintln!(
        "e2e: member {WIPED} back with id {new_id:#x} (was {old_id:#x}) after {back_after:?}; \
         every partition at {REPLICATION_FACTOR} live voters {repaired:?} after the wipe \
         (bound {REPAIR_TIMEOUT:?}); longest leaderless {:?}; fewest voters {:?}",
        report.worst_leaderless(),
        report.min_voters.values().min()
    );
    // Every partition was on the wiped member (3 members, RF 3), so every one was repaired.
    let observed = observer::observed_placement(report.last.values());
    let hosted: BTreeSet<u32> = observed
        .partitions
        .iter()
        .filter(|(_, view)| view.voters.contains(&WIPED))
        .map(|(partition, _)| *partition)
        .collect();
    assert_eq!(
        hosted.len(),
        PARTITIONS as usize,
        "member {WIPED} votes in every partition again"
    );
    assert_recovered(&env, &observer, 3, workload).await;
    observer.stop().await;
    env.shutdown().await;
}

/// Removes replica `id` from `partition`'s group through its leader (found afresh each try).
async fn remove_voter(env: &Env, observer: &Observer, partition: u32, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = observer.fresh_report().await;
        let leader = report.last.iter().find_map(|(ordinal, status)| {
            status
                .partitions
                .iter()
                .any(|view| view.partition == partition && view.role == Role::Leader)
                .then_some(*ordinal)
        });
        if let Some(leader) = leader {
            match admin(env, leader).await.remove_replica(partition, id).await {
                Ok(()) => return,
                Err(error) => eprintln!("e2e: remove {id:#x} from p{partition}: {error}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "could not remove {id:#x} from p{partition}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Two of a partition's three voters removed by hand (`DELETE /v1/partitions/{p}/replicas/{id}` on
/// its leader): the CacheCluster says `Degraded=True`, `UnderReplicated`, naming the partition;
/// the operator adds them back, and `Degraded` returns to `False`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_voters_removed_by_hand_are_reported_and_repaired() {
    // A partition number that no count in a message is likely to equal.
    const PARTITION: u32 = 11;
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let env = Env::start(83, "voters", 3).await;
    let observer = Observer::start(env.client(), env.namespace(), env.name(), 3, SAMPLE_EVERY);
    wait_settled(&env, 3).await;
    let before = assert_on_ring(&observer, 3).await;
    let workload = start_load(&env, "voters").await;
    let leader_view = before
        .last
        .values()
        .flat_map(|status| &status.partitions)
        .find(|view| view.partition == PARTITION && view.role == Role::Leader)
        .cloned()
        .expect("the partition has a leader");
    let leader_id = leader_view.leader.as_ref().map(|leader| leader.id);
    let followers: Vec<u64> = leader_view
        .voters
        .iter()
        .map(|voter| voter.id)
        .filter(|id| Some(*id) != leader_id)
        .collect();
    assert_eq!(followers.len(), 2, "{leader_view:?}");

    observer.reset(3);
    let removed_at = Instant::now();
    for id in &followers {
        remove_voter(&env, &observer, PARTITION, *id).await;
    }
    eprintln!(
        "e2e: removed voters {followers:x?} of p{PARTITION} in {:?}",
        removed_at.elapsed()
    );
    // The operator may repair the partition in the same reconcile that finds it: the status it
    // writes then says Degraded/UnderReplicated until the next reconcile, a fraction of a second,
    // and the Warning Event stays. Either is what a user sees.
    let started = Instant::now();
    let message = loop {
        let current = condition(&env, "Degraded").await;
        if current.status == "True" && current.reason == "UnderReplicated" {
            break current.message;
        }
        if let Some(event) = env.events("UnderReplicated").await.pop() {
            assert_eq!(event.type_, "Warning", "{event:?}");
            break event.note;
        }
        assert!(
            started.elapsed() < CONDITION_TIMEOUT,
            "neither Degraded/UnderReplicated nor its Event within {CONDITION_TIMEOUT:?}; last \
             {current:?}\noperator log tail:\n{}",
            env.operator_log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "e2e: Degraded/UnderReplicated after {:?}: {message}",
        started.elapsed()
    );
    assert!(
        numbers_in(&message).contains(&u64::from(PARTITION)),
        "the message names partition {PARTITION}: {message:?}"
    );
    let repaired = wait_replicated(&observer, removed_at, REPAIR_TIMEOUT).await;
    let (_, cleared) = wait_condition(&env, "Degraded", CONDITION_TIMEOUT, "False", |c| {
        c.status == "False"
    })
    .await;
    let report = observer.report();
    eprintln!(
        "e2e: p{PARTITION} back to {REPLICATION_FACTOR} live voters {repaired:?} after the \
         removal; Degraded cleared {cleared:?} later; fewest voters seen {:?}",
        report.min_voters.get(&PARTITION)
    );
    assert!(
        report
            .min_voters
            .get(&PARTITION)
            .is_some_and(|fewest| *fewest < 3),
        "the observer saw the removal (fewest voters {:?})",
        report.min_voters.get(&PARTITION)
    );
    assert_recovered(&env, &observer, 3, workload).await;
    observer.stop().await;
    env.shutdown().await;
}

/// Two members to stop and the partition to watch: a partition both are voters of (so it loses
/// its majority), the lowest such (partitions are named in order, so it is never left out of a
/// shortened list), preferring one whose number differs from the counts a message may carry.
fn pick_majority(members: u32) -> (u32, u32, u32) {
    let ring = observer::ring(members, PARTITIONS, REPLICATION_FACTOR).expect("the ring");
    let mut best: Option<(u32, u32, u32)> = None;
    for a in 0..members {
        for b in a + 1..members {
            let lost: Vec<u32> = (0u32..)
                .zip(&ring)
                .filter(|(_, voters)| voters.contains(&a) && voters.contains(&b))
                .map(|(partition, _)| partition)
                .collect();
            let Some(first) = lost.first().copied() else {
                continue;
            };
            let ambiguous = [
                lost.len() as u32,
                PARTITIONS,
                REPLICATION_FACTOR,
                members,
                1,
                2,
            ];
            let candidate = (a, b, first);
            match best {
                None => best = Some(candidate),
                Some((_, _, current)) if !ambiguous.contains(&first) && first > current => {
                    best = Some(candidate)
                }
                _ => {}
            }
        }
    }
    best.expect("some pair of members shares a partition")
}

/// Two of one partition's three voters frozen (SIGSTOP) in a 5-member cluster: within seconds
/// `Available=False`, `PartitionsWithoutQuorum`, naming that partition; after SIGCONT,
/// `Available=True` again and nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_without_a_majority_is_reported_unavailable_and_recovers() {
    if real_cluster() {
        eprintln!("RINGCACHE_E2E_REAL=1: skipped (needs to SIGSTOP members' processes)");
        return;
    }
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let env = Env::start(84, "quorum", 5).await;
    let observer = Observer::start(env.client(), env.namespace(), env.name(), 5, SAMPLE_EVERY);
    assert_on_ring(&observer, 5).await;
    wait_settled(&env, 5).await;
    let (a, b, partition) = pick_majority(5);
    let workload = start_load(&env, "quorum").await;
    observer.reset(5);
    assert!(env.signal_member(a, "STOP") && env.signal_member(b, "STOP"));
    let stopped_at = Instant::now();
    let (available, took) = wait_condition(
        &env,
        "Available",
        CONDITION_TIMEOUT,
        "False, PartitionsWithoutQuorum, naming the partition",
        |c| c.status == "False" && c.reason == "PartitionsWithoutQuorum",
    )
    .await;
    eprintln!(
        "e2e: members {a} and {b} stopped; Available=False after {took:?}: {}",
        available.message
    );
    let named = numbers_in(&available.message).contains(&u64::from(partition));
    // Resume before asserting, so a failure leaves no frozen process behind for long.
    assert!(env.signal_member(a, "CONT") && env.signal_member(b, "CONT"));
    let resumed_at = Instant::now();
    assert!(
        named,
        "the message names partition {partition}: {:?}",
        available.message
    );
    let (_, back) = wait_condition(&env, "Available", Duration::from_secs(60), "True", |c| {
        c.status == "True"
    })
    .await;
    eprintln!(
        "e2e: Available=True {back:?} after SIGCONT ({:?} after SIGSTOP)",
        stopped_at.elapsed()
    );
    wait_replicated(&observer, resumed_at, REPAIR_TIMEOUT).await;
    assert_recovered(&env, &observer, 5, workload).await;
    observer.stop().await;
    env.shutdown().await;
}
