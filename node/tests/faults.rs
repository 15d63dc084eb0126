//! Faults under load, each run checked by the linearizability checker: a partition that isolates
//! a leader, a leader paused (SIGSTOP) and resumed, a leader killed (`kill -9`) and restarted,
//! and a member restarted with a torn last log record. Members reach each other through fault
//! proxies (`ringcache_e2e::faults`); clients talk to every member, the isolated one included.

mod cluster_support;

use std::time::{Duration, Instant};

use cluster_support::load::{HistoryLoad, assert_linearizable};
use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 4,
    replication_factor: 3,
};
const PARTITION: u32 = 1;
const ALL: [usize; 3] = [0, 1, 2];

/// Three keys of the partition for the recorded load, and a fourth for probes outside it.
fn keys(prefix: &str) -> (Vec<String>, String) {
    let mut keys = keys_in_partition(SETTINGS.partitions, PARTITION, prefix, 4);
    let probe = keys.pop().expect("four keys");
    (keys, probe)
}

/// A cluster behind fault proxies under a recorded load on [`PARTITION`]'s keys.
struct Scenario {
    cluster: TestCluster,
    /// The partition's leader when the load started.
    leader: usize,
    load: HistoryLoad,
    keys: Vec<String>,
    /// A key of the partition outside the recorded load.
    probe: String,
}

/// Starts the cluster and `per_member` clients on each member `clients(leader)` names, and
/// waits for their first 30 acknowledged writes.
async fn under_load(
    prefix: &str,
    per_member: usize,
    clients: impl FnOnce(usize) -> Vec<usize>,
) -> Scenario {
    let mut cluster = TestCluster::start_with_faults(3, SETTINGS).await;
    let (keys, probe) = keys(prefix);
    let leader = cluster.leader_of(PARTITION).await;
    let load = HistoryLoad::start(&cluster, &clients(leader), per_member, &keys);
    load.wait_for_writes(30, WAIT, "writes before the fault")
        .await;
    Scenario {
        cluster,
        leader,
        load,
        keys,
        probe,
    }
}

/// Writes through `member` until one is acknowledged; returns how long that took.
async fn first_acknowledged_write(cluster: &TestCluster, member: usize, key: &str) -> Duration {
    let started = Instant::now();
    let mut connection = cluster.redis(member).await;
    loop {
        let written: redis::RedisResult<()> = within(
            Duration::from_secs(15),
            "one SET",
            redis::cmd("SET")
                .arg(key)
                .arg("probe")
                .query_async(&mut connection),
        )
        .await;
        match written {
            Ok(()) => return started.elapsed(),
            Err(error) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no write acknowledged through member {member} after 20 s: {error}"
                );
                if error.is_io_error() || error.is_timeout() {
                    connection = cluster.redis(member).await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_isolating_a_leader_stops_it_and_the_majority_goes_on() {
    within(Duration::from_secs(180), "the test", async {
        let Scenario {
            mut cluster,
            leader,
            load,
            probe,
            ..
        } = under_load("isolated", 2, |_| ALL.to_vec()).await;
        let other = ALL.into_iter().find(|&m| m != leader).expect("a follower");

        cluster.network().isolate(leader, ALL);
        let cut_at = Instant::now();

        // The majority elects a new leader and takes writes again.
        let majority_after = first_acknowledged_write(&cluster, other, &probe).await;
        eprintln!("majority side acknowledged a write {majority_after:?} after the cut");
        assert!(
            majority_after < Duration::from_secs(10),
            "{majority_after:?}"
        );

        // The isolated leader, once its lease has run out, acknowledges neither reads nor
        // writes (its clients see errors, never an old value or a lost write).
        let lease = Duration::from_millis(600);
        tokio::time::sleep(lease.saturating_sub(cut_at.elapsed())).await;
        let mut minority = cluster.redis(leader).await;
        let read: redis::RedisResult<Option<String>> = redis::cmd("GET")
            .arg(&probe)
            .query_async(&mut minority)
            .await;
        assert!(read.is_err(), "the isolated leader served a read: {read:?}");
        let written: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&probe)
            .arg("minority")
            .query_async(&mut minority)
            .await;
        assert!(written.is_err(), "the isolated leader acknowledged a write");

        load.wait_for_writes(30, WAIT, "writes during the partition")
            .await;
        cluster.network().heal();
        load.wait_for_writes(30, WAIT, "writes after the heal")
            .await;
        assert_linearizable(&load.finish().await);
        cluster.wait_ready_all().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_for_five_seconds_then_resumed() {
    within(Duration::from_secs(180), "the test", async {
        let Scenario {
            mut cluster,
            leader,
            load,
            ..
        } = under_load("paused", 2, |_| ALL.to_vec()).await;

        cluster.pause(leader);
        let before = load.acknowledged();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let during = load.acknowledged() - before;
        cluster.resume(leader);
        assert!(
            during > 0,
            "no write was acknowledged while the leader was paused"
        );

        load.wait_for_writes(30, WAIT, "writes after the resume")
            .await;
        assert_linearizable(&load.finish().await);
        cluster.wait_ready_all().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_under_load_then_restarted() {
    within(Duration::from_secs(180), "the test", async {
        // Clients on the survivors only: the victim's clients would just reconnect in a loop.
        let Scenario {
            mut cluster,
            leader,
            load,
            ..
        } = under_load("killed", 3, |leader| {
            ALL.into_iter().filter(|&m| m != leader).collect()
        })
        .await;

        cluster.kill(leader);
        load.wait_for_writes(30, WAIT, "writes after the kill")
            .await;
        cluster.restart(leader).await;
        cluster.wait_ready(leader).await;
        load.wait_for_writes(30, WAIT, "writes after the restart")
            .await;
        assert_linearizable(&load.finish().await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarted_with_a_torn_log_tail_starts_and_catches_up() {
    within(Duration::from_secs(180), "the test", async {
        let victim = 2;
        let Scenario {
            mut cluster,
            load,
            keys,
            ..
        } = under_load("torn", 3, |_| vec![0, 1]).await;

        cluster.kill(victim);
        // What a crash in the middle of an append leaves: the start of a record (a header that
        // announces more bytes than follow, then a few of them).
        let log = cluster.members[victim]
            .data_dir
            .join(format!("groups/{PARTITION}/log"));
        let mut torn = std::fs::read(&log).expect("the partition's log");
        torn.extend_from_slice(&500u32.to_le_bytes());
        torn.extend_from_slice(&[0xAB; 4 + 37]);
        std::fs::write(&log, &torn).expect("tear the log");

        load.wait_for_writes(30, WAIT, "writes while the member is down")
            .await;
        cluster.restart(victim).await;
        cluster.wait_ready(victim).await;
        let metrics = http(
            &cluster.members[victim].admin_address(),
            "GET",
            "/metrics",
            b"",
        )
        .await;
        assert!(
            metrics
                .body
                .lines()
                .any(|line| line == "ringcache_log_torn_tails_truncated_total 1"),
            "the cut is counted:\n{}",
            metrics.body
        );
        load.wait_for_writes(30, WAIT, "writes after the restart")
            .await;
        assert_linearizable(&load.finish().await);

        // Its own replica holds what the others hold (stale reads, READONLY).
        let expected = cluster.get_many(0, &keys, 1, false).await;
        let cluster = &cluster;
        let (keys, expected) = (&keys, &expected);
        eventually(WAIT, "the restarted member caught up", || async move {
            (cluster.get_many(victim, keys, 1, true).await == *expected).then_some(())
        })
        .await;
    })
    .await;
}

/// The leader lease a member may serve reads on (0.8 × the 600 ms maximum election timeout),
/// counted from the last acknowledged heartbeat's sending, up to one heartbeat interval (100 ms)
/// before the cut: a read sent within `LEASE - HEARTBEAT` of the cut is surely inside it.
const LEASE: Duration = Duration::from_millis(480);
const HEARTBEAT: Duration = Duration::from_millis(100);

/// A leader that starts handing leadership over must stop serving reads on its lease at once:
/// the new leader is elected at the transfer's request, without waiting for followers' leases to
/// run out, and may commit writes while the old one still holds a lease. Here the old leader
/// hears nothing from the others (its messages still reach them), the new leader commits a
/// write, and a read on the old leader inside its lease must not return the older value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_handing_over_serves_no_read_on_its_lease() {
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start_with_faults(3, SETTINGS).await;
        let (keys, _) = keys("handover");
        let key = &keys[0];
        let mut inside_lease = 0;
        for attempt in 0..6 {
            let leader = cluster.leader_of(PARTITION).await;
            let mut others = ALL.into_iter().filter(|&m| m != leader);
            let (target, third) = (others.next().unwrap(), others.next().unwrap());
            let target_id = cluster.status(target).await.member.id;
            let mut at_leader = cluster.redis(leader).await;
            let mut at_target = cluster.redis(target).await;
            let before = format!("before-{attempt}");
            let after = format!("after-{attempt}");
            set_retrying(&mut at_leader, key, &before, WAIT).await;
            // Warm the read path: the old leader serves from its lease.
            let _: Option<String> = redis::cmd("GET").arg(key).query_async(&mut at_leader).await.expect("GET");

            cluster.network().cut_one_way(target, leader);
            cluster.network().cut_one_way(third, leader);
            let cut_at = Instant::now();
            let admin = cluster.admin(leader);
            let transfer = tokio::spawn(async move {
                let _ = admin.transfer_leadership(PARTITION, target_id).await;
            });
            let cluster_ref = &cluster;
            eventually(Duration::from_secs(5), "the target leads", || async move {
                let status = cluster_ref.status(target).await;
                hosted(&status, PARTITION)
                    .is_some_and(|view| view.role == ringcache_admin::Role::Leader)
                    .then_some(())
            })
            .await;
            let written: redis::RedisResult<()> =
                redis::cmd("SET").arg(key).arg(&after).query_async(&mut at_target).await;
            let read_started = cut_at.elapsed();
            let read: redis::RedisResult<Option<String>> = within(
                Duration::from_secs(12),
                "the old leader's answer",
                redis::cmd("GET").arg(key).query_async(&mut at_leader),
            )
            .await;
            cluster.network().heal();
            let _ = transfer.await;
            if written.is_err() {
                continue;
            }
            assert_ne!(
                read.as_ref().ok().and_then(|value| value.as_deref()),
                Some(before.as_str()),
                "attempt {attempt}: the old leader served the value the new leader had already overwritten"
            );
            eprintln!("attempt {attempt}: read at the old leader {read_started:?} after the cut: {read:?}");
            // The read only tests the guard while the lease would still have allowed it.
            if read_started + HEARTBEAT < LEASE {
                inside_lease += 1;
                if inside_lease >= 2 {
                    break;
                }
            }
        }
        assert!(
            inside_lease > 0,
            "no attempt read inside the lease window (the machine was too slow to test the guard)"
        );
    })
    .await;
}

/// Members whose wall clocks are 90 s ahead and 90 s behind: Raft's elections and leases run on
/// each process's monotonic clock, so leadership moving between them (a kill, a restart) keeps
/// the history linearizable. Their wall clocks really are off (TIME shows it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_with_clocks_minutes_apart_keep_the_history_linearizable() {
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start_with_faults(3, SETTINGS).await;
        for (member, offset) in [(1, 90_000), (2, -90_000)] {
            cluster.members[member].clock_offset_ms = offset;
            cluster.kill(member);
            cluster.restart(member).await;
            cluster.wait_ready(member).await;
        }
        let mut ahead = cluster.redis(1).await;
        let (seconds, _): (String, String) = redis::cmd("TIME")
            .query_async(&mut ahead)
            .await
            .expect("TIME");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let skew = seconds.parse::<u64>().expect("seconds") as i64 - now as i64;
        assert!(
            (85..=95).contains(&skew),
            "member 1's clock is {skew} s ahead"
        );

        let (keys, _) = keys("clocks");
        let load = HistoryLoad::start(&cluster, &ALL, 2, &keys);
        load.wait_for_writes(30, WAIT, "writes before the failovers")
            .await;
        // Leadership moves between the three clocks: each leader killed in turn.
        for round in 0..3 {
            let leader = cluster.leader_of(PARTITION).await;
            cluster.kill(leader);
            load.wait_for_writes(20, WAIT, &format!("writes after kill {round}"))
                .await;
            cluster.restart(leader).await;
            cluster.wait_ready(leader).await;
        }
        load.wait_for_writes(30, WAIT, "writes after the failovers")
            .await;
        assert_linearizable(&load.finish().await);
    })
    .await;
}
