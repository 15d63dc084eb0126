//! Three hosts, two groups at replication factor 3: election, replication, linearizable reads,
//! failover when a leader's host stops, and catch-up of a host restarted from its data directory.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ringcache_replication::CatchUp;
use support::*;

const GROUPS: [u32; 2] = [1, 2];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_two_groups_replicate_and_read_linearizably() {
    let hosts = [
        start_host("127.0.0.1:0", 0, None).await,
        start_host("127.0.0.1:0", 1, None).await,
        start_host("127.0.0.1:0", 2, None).await,
    ];
    let all: Vec<_> = hosts.iter().collect();
    for group in GROUPS {
        host_and_bootstrap(&hosts, group).await;
        // Bootstrapping is idempotent: a second call is harmless.
        hosts[0]
            .bootstrap_group(group, voters(&all))
            .await
            .expect("bootstrap again");
    }
    for group in GROUPS {
        let leader = await_leader(&all, group).await;
        assert_eq!(voter_ids(leader, group).len(), 3);
        for index in 0..20 {
            write(
                &all,
                group,
                &format!("key-{index}"),
                &format!("g{group}-v{index}"),
            )
            .await
            .expect("write");
        }
        assert_eq!(
            read(&all, group, "key-7").await.as_deref(),
            Some(format!("g{group}-v7").as_str())
        );
        assert_eq!(read(&all, group, "missing").await, None);
        let map = converged(&all, group).await;
        assert_eq!(map.len(), 20);
    }
    // Groups are independent: group 2's values never leak into group 1.
    assert_eq!(read(&all, 1, "key-0").await.as_deref(), Some("g1-v0"));

    // A follower refuses proposals and reads with a hint naming the leader.
    let leader = await_leader(&all, 1).await;
    let follower = hosts
        .iter()
        .find(|host| host.id() != leader.id())
        .expect("follower");
    let command = Set {
        key: b"k".to_vec(),
        value: Some(b"v".to_vec()),
    };
    match follower.propose(1, &command).await {
        Err(error @ ringcache_replication::ProposeError::NotLeader { .. }) => {
            assert!(error.definitely_not_applied());
        }
        other => panic!("expected NotLeader, got {other:?}"),
    }
    assert!(matches!(
        follower.propose(99, &command).await,
        Err(ringcache_replication::ProposeError::GroupNotHosted(99))
    ));
    for host in &hosts {
        host.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_over_when_the_leaders_host_stops() {
    let hosts = [
        start_host("127.0.0.1:0", 0, None).await,
        start_host("127.0.0.1:0", 1, None).await,
        start_host("127.0.0.1:0", 2, None).await,
    ];
    let all: Vec<_> = hosts.iter().collect();
    for group in GROUPS {
        host_and_bootstrap(&hosts, group).await;
        write(&all, group, "before", "1").await.expect("write");
    }
    let old_leader = await_leader(&all, 1).await.clone();
    old_leader.shutdown().await;
    let stopped_at = Instant::now();
    let survivors: Vec<_> = hosts
        .iter()
        .filter(|host| host.id() != old_leader.id())
        .collect();
    let new_leader = await_leader(&survivors, 1).await;
    let elapsed = stopped_at.elapsed();
    eprintln!("new leader of group 1 after {elapsed:?}");
    assert_ne!(new_leader.id(), old_leader.id());
    // About 2 s on an idle machine (election timeout 0.4–0.8 s); the bound is loose for loaded CI.
    assert!(
        elapsed < Duration::from_secs(15),
        "failover took {elapsed:?}"
    );
    for group in GROUPS {
        write(&survivors, group, "after", "2")
            .await
            .expect("write after failover");
        assert_eq!(
            read(&survivors, group, "before").await.as_deref(),
            Some("1")
        );
        assert_eq!(read(&survivors, group, "after").await.as_deref(), Some("2"));
    }
    for host in survivors {
        host.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_restarted_with_its_data_dir_catches_up() {
    let group = 1;
    let (directories, mut hosts) = start_three_on_disk(group).await;
    {
        let all: Vec<_> = hosts.iter().collect();
        for index in 0..50 {
            write(&all, group, &format!("k{index}"), "first")
                .await
                .expect("write");
        }
    }
    // Stop a follower; keep writing past a snapshot (every 100 entries) while it is away.
    let stopped = stop_a_follower(&mut hosts, group).await;
    {
        let running: Vec<_> = hosts.iter().collect();
        for index in 0..250 {
            write(
                &running,
                group,
                &format!("k{}", index % 80),
                &format!("second-{index}"),
            )
            .await
            .expect("write while a member is down");
        }
    }
    let restarted = start_host(
        &stopped.address,
        stopped.position as u16,
        Some(directories[stopped.position].path()),
    )
    .await;
    assert_eq!(restarted.id(), stopped.id, "same data dir, same identity");
    restarted.host_group(group).await.expect("host group again");
    // Its own log comes back from disk (the metrics show it once the group task has started).
    assert!(
        eventually(|| restarted
            .status(group)
            .is_some_and(|status| status.last_log_index >= Some(50)))
        .await,
        "restarted replica lost its log"
    );
    hosts.push(restarted);
    let all: Vec<_> = hosts.iter().collect();
    write(&all, group, "final", "x").await.expect("write");
    let map = converged(&all, group).await;
    assert_eq!(
        map.get(b"final".as_slice()).map(Vec::as_slice),
        Some(b"x".as_slice())
    );
    assert_eq!(
        map.get(b"k79".as_slice()).map(Vec::as_slice),
        Some(b"second-239".as_slice())
    );
    assert_eq!(
        map.get(b"k9".as_slice()).map(Vec::as_slice),
        Some(b"second-249".as_slice())
    );
    for host in &hosts {
        host.shutdown().await;
    }
}

/// What `/readyz` relies on: a replica restarted from its data directory does not count as
/// caught up on what its disk says alone, and once it does count as caught up, it has applied
/// every write acknowledged while it was down. All three hosts stop, so the restarted follower
/// first finds no one, and then a leader newly elected from disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_replica_is_caught_up_only_after_its_leader_reached_it() {
    let group = 1;
    let (directories, mut hosts) = start_three_on_disk(group).await;
    {
        let all: Vec<_> = hosts.iter().collect();
        for index in 0..20 {
            write(&all, group, &format!("k{index}"), "before")
                .await
                .expect("write");
        }
    }
    let addresses: Vec<String> = hosts.iter().map(|host| host.address().to_owned()).collect();
    let follower = stop_a_follower(&mut hosts, group).await.position;
    {
        let running: Vec<_> = hosts.iter().collect();
        for index in 0..30 {
            write(&running, group, &format!("down{index}"), "while down")
                .await
                .expect("write while the follower is down");
        }
    }
    for host in hosts.drain(..) {
        host.shutdown().await;
    }

    let restarted = start_host(
        &addresses[follower],
        follower as u16,
        Some(directories[follower].path()),
    )
    .await;
    restarted.host_group(group).await.expect("host group again");
    assert!(
        eventually(|| restarted
            .status(group)
            .is_some_and(|status| status.last_log_index >= Some(20)))
        .await,
        "the restarted replica lost its log"
    );
    // Alone, for longer than an election timeout: its disk says it applied all it knew committed,
    // and it may even remember the old leader, but it is never caught up.
    let alone_until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < alone_until {
        let status = restarted.status(group).expect("hosted");
        assert!(
            !status.catch_up().is_caught_up(),
            "caught up with no leader reachable: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut others = Vec::new();
    for (ordinal, address) in addresses.iter().enumerate() {
        if ordinal != follower {
            let host = start_host(address, ordinal as u16, Some(directories[ordinal].path())).await;
            host.host_group(group).await.expect("host group again");
            others.push(host);
        }
    }
    // The first moment it counts as caught up, every write acknowledged while it was down is
    // already in its state machine.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = restarted.status(group).expect("hosted");
        if status.catch_up().is_caught_up() {
            let missing: Vec<String> = restarted
                .read_local(group, |kv| {
                    (0..30)
                        .map(|index| format!("down{index}"))
                        .filter(|key| !kv.map.contains_key(key.as_bytes()))
                        .collect()
                })
                .expect("hosted");
            assert!(
                missing.is_empty(),
                "caught up ({status:?}) but missing {missing:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never caught up: {}",
            status.catch_up()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Caught up once, it stays so under writes, though it is often an entry or two behind.
    let stop = Arc::new(AtomicBool::new(false));
    let (sampling, stop_sampling) = (restarted.clone(), Arc::clone(&stop));
    let sampler = tokio::spawn(async move {
        let mut samples = 0;
        let mut behind = 0;
        loop {
            let status = sampling.status(group).expect("hosted");
            if status.applied_index < status.committed_index {
                behind += 1;
            }
            let catch_up = status.catch_up();
            assert!(
                catch_up.is_caught_up() || catch_up == CatchUp::NoLeader,
                "fell out of caught up under writes: {catch_up}"
            );
            samples += 1;
            if stop_sampling.load(Ordering::Relaxed) {
                return (samples, behind);
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    });
    {
        let mut all: Vec<_> = others.iter().collect();
        all.push(&restarted);
        for index in 0..100 {
            write(&all, group, &format!("after{index}"), "x")
                .await
                .expect("write after the restart");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (samples, behind) = sampler.await.expect("sampler");
    eprintln!("{samples} samples, {behind} of them an entry or more behind");
    restarted.shutdown().await;
    for host in others {
        host.shutdown().await;
    }
}

/// A command over `max_command_len` is refused before it enters the log (so no follower is ever
/// asked to take an entry its frames cannot carry), and the group keeps taking writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_over_the_limit_is_refused_and_the_group_goes_on() {
    let mut config = test_config(None);
    config.max_command_len = 1024;
    let host = start_host_with("127.0.0.1:0", 0, config).await;
    host_and_bootstrap(std::slice::from_ref(&host), 0).await;
    let leader = await_leader(&[&host], 0).await;
    let command = |size: usize| Set {
        key: b"k".to_vec(),
        value: Some(vec![b'v'; size]),
    };
    let refused = leader
        .propose(0, &command(2048))
        .await
        .expect_err("over the limit");
    assert!(
        matches!(
            refused,
            ringcache_replication::ProposeError::TooLarge { limit: 1024, .. }
        ),
        "{refused:?}"
    );
    assert!(refused.definitely_not_applied());
    leader
        .propose(0, &command(100))
        .await
        .expect("a small write");
    assert_eq!(read(&[&host], 0, "k").await.map(|v| v.len()), Some(100));
    host.shutdown().await;
}
