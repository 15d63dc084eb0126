//! A replica moves to a fourth host (add learner → promote → transfer leadership → remove the old
//! replica) while a client writes and reads continuously; the recorded history must be
//! linearizable, so no acknowledged write is lost.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ringcache_e2e::linearizability::{HistoryRecorder, Verdict, check};
use ringcache_replication::{ReadPolicy, ReplicationHost};
use support::*;

const GROUP: u32 = 1;

/// Writes and reads four keys in a loop on whichever host leads, recording what it sees.
async fn client(
    hosts: Vec<ReplicationHost<Kv>>,
    recorder: Arc<HistoryRecorder>,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut acknowledged = 0;
    let mut operation = 0u64;
    while !stop.load(Ordering::Relaxed) {
        operation += 1;
        let key = format!("k{}", operation % 4);
        let references: Vec<_> = hosts.iter().collect();
        let Some(host) = leader(&references, GROUP) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if operation.is_multiple_of(3) {
            let pending = recorder.invoke_read(key.as_bytes());
            match host.linearizable_read(GROUP).await {
                Ok(()) => {
                    let value = host
                        .read_local(GROUP, |kv| kv.map.get(key.as_bytes()).cloned())
                        .flatten();
                    recorder.read_ok(pending, value.as_deref());
                }
                Err(_) => recorder.failed(pending),
            }
        } else {
            let value = format!("v{operation}");
            let pending = recorder.invoke_write(key.as_bytes(), Some(value.as_bytes()));
            let command = Set {
                key: key.as_bytes().to_vec(),
                value: Some(value.as_bytes().to_vec()),
            };
            match host.propose(GROUP, &command).await {
                Ok(_) => {
                    acknowledged += 1;
                    recorder.write_ok(pending);
                }
                Err(error) if error.definitely_not_applied() => recorder.failed(pending),
                Err(_) => recorder.unknown(pending),
            }
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_replica_under_load_loses_no_acknowledged_write() {
    move_a_replica_under_load(ReadPolicy::ReadIndex).await;
}

/// The same with lease reads, which the leader answers from the metrics openraft publishes: the
/// transfer in the middle must stop the old leader's lease reads before the new leader accepts
/// writes, or a read there would miss an acknowledged write and the history would not check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_reads_stay_linearizable_while_a_replica_moves() {
    move_a_replica_under_load(ReadPolicy::LeaderLease).await;
}

async fn move_a_replica_under_load(read_policy: ReadPolicy) {
    let mut config = test_config(None);
    config.read_policy = read_policy;
    let mut hosts = Vec::new();
    for ordinal in 0..4 {
        hosts.push(start_host_with("127.0.0.1:0", ordinal, config.clone()).await);
    }
    let first_three: Vec<_> = hosts[..3].iter().collect();
    for host in &first_three {
        host.host_group(GROUP).await.expect("host group");
    }
    hosts[0]
        .bootstrap_group(GROUP, voters(&first_three))
        .await
        .expect("bootstrap");
    await_leader(&first_three, GROUP).await;

    let recorder = Arc::new(HistoryRecorder::new());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(client(
        hosts.clone(),
        Arc::clone(&recorder),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Move the replica off the current leader's host onto host 3.
    let all: Vec<_> = hosts.iter().collect();
    let newcomer = hosts[3].clone();
    let (new_id, new_address) = (newcomer.id(), newcomer.address().to_owned());
    let leaving = await_leader(&all, GROUP).await.clone();
    let leaving_id = leaving.id();
    newcomer
        .host_group(GROUP)
        .await
        .expect("host group on the newcomer");
    admin(&all, GROUP, |leader| {
        let new_address = new_address.clone();
        async move { leader.add_learner(GROUP, new_id, new_address).await }
    })
    .await;
    admin(&all, GROUP, |leader| async move {
        leader.promote(GROUP, new_id).await
    })
    .await;
    admin(&all, GROUP, |leader| async move {
        leader.transfer_leadership(GROUP, new_id).await
    })
    .await;
    admin(&all, GROUP, |leader| async move {
        leader.remove_replica(GROUP, leaving_id).await
    })
    .await;
    leaving
        .stop_group(GROUP, true)
        .await
        .expect("stop the old replica");

    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = writer.await.expect("client task");
    eprintln!("{acknowledged} acknowledged writes during the move");
    assert!(
        acknowledged > 10,
        "the client made too little progress: {acknowledged}"
    );

    let remaining: Vec<_> = hosts
        .iter()
        .filter(|host| host.id() != leaving_id)
        .collect();
    let expected: BTreeSet<_> = remaining.iter().map(|host| host.id()).collect();
    assert!(
        eventually(|| remaining
            .iter()
            .all(|host| voter_ids(host, GROUP) == expected))
        .await
    );
    assert_eq!(
        leader(&remaining, GROUP).map(|host| host.id()),
        Some(new_id)
    );
    converged(&remaining, GROUP).await;

    // A final read of every key joins the history, so a lost write would show as a stale read.
    for index in 0..4 {
        let key = format!("k{index}");
        let pending = recorder.invoke_read(key.as_bytes());
        let value = read(&remaining, GROUP, &key).await;
        recorder.read_ok(pending, value.as_deref().map(str::as_bytes));
    }
    match check(&recorder.history()) {
        Verdict::Linearizable => {}
        other => panic!("history is not linearizable: {other:?}"),
    }
    for host in &hosts {
        host.shutdown().await;
    }
}

/// A membership change whose caller goes away half-way (an operator restarted, an admin call timed
/// out) still runs to its end: a change is a joint entry then a uniform one, and a group left in
/// the joint configuration needs a majority of both until some later change settles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_caller_goes_away_is_not_left_half_way() {
    let mut hosts = Vec::new();
    for ordinal in 0..4 {
        hosts.push(start_host("127.0.0.1:0", ordinal, None).await);
    }
    host_and_bootstrap(&hosts[..3], GROUP).await;
    let all: Vec<_> = hosts.iter().collect();
    let leader = await_leader(&all, GROUP).await.clone();
    let newcomer = hosts[3].clone();
    newcomer.host_group(GROUP).await.expect("host group");
    let mut left_joint = Vec::new();
    // Give up on the promotion after longer and longer delays, so that some give-ups fall between
    // the joint entry and the uniform one.
    for step in 0..40u64 {
        leader
            .add_learner(GROUP, newcomer.id(), newcomer.address().to_owned())
            .await
            .expect("add learner");
        let delay = Duration::from_micros(250 * step);
        let _ = tokio::time::timeout(delay, leader.promote(GROUP, newcomer.id())).await;
        let settled = eventually_within(Duration::from_secs(2), || {
            leader.status(GROUP).is_some_and(|status| !status.joint)
        })
        .await;
        if !settled {
            left_joint.push(delay);
            // Settle it, so the next round starts from a plain configuration.
            leader
                .promote(GROUP, newcomer.id())
                .await
                .expect("settle with the next change");
        }
        // The given-up promotion may still be committing its last entry: retry while refused.
        let mut attempts = 0;
        while let Err(error) = leader.remove_replica(GROUP, newcomer.id()).await {
            attempts += 1;
            assert!(attempts < 100, "remove the newcomer again: {error}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(
        left_joint.is_empty(),
        "promotions given up after {left_joint:?} left the group joint"
    );
    for host in &hosts {
        host.shutdown().await;
    }
}

/// Polls `condition` every 10 ms for at most `limit`.
async fn eventually_within(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}
