//! A partition whose leader crashed (`kill -9`) gets a new leader quickly: writes through the
//! surviving members resume within 2 s. (Alone in its test binary, so no other cluster competes
//! for the CPU while the time is measured.)

mod cluster_support;

use std::time::{Duration, Instant};

use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// What users rely on: after a leader crash, writes to its partitions work again through any
/// surviving member within 2 s.
const FAILOVER_BOUND: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_writes_resume_within_two_seconds() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let key = "failover-key";
        let partition = partition_of_key(SETTINGS.partitions, key.as_bytes());
        let leader = cluster.leader_of(partition).await;
        let old_term = hosted(&cluster.status(leader).await, partition)
            .expect("the leader hosts its partition")
            .term;
        let survivors: Vec<usize> = (0..3).filter(|member| *member != leader).collect();
        let mut connections = Vec::new();
        for &survivor in &survivors {
            let mut connection = cluster.redis(survivor).await;
            set_retrying(&mut connection, key, "before", WAIT).await;
            connections.push(connection);
        }

        cluster.kill(leader);
        let killed_at = Instant::now();
        let mut attempts = 0usize;
        let mut timeline: Vec<String> = Vec::new();
        let elapsed = loop {
            let connection = &mut connections[attempts % 2];
            attempts += 1;
            let value = format!("after-{attempts}");
            let result: redis::RedisResult<()> = redis::cmd("SET")
                .arg(key)
                .arg(&value)
                .query_async(connection)
                .await;
            match result {
                Ok(()) => break killed_at.elapsed(),
                Err(error) => match classify(&error) {
                    Failure::Other(text) => panic!("SET during failover: unexpected {text}"),
                    Failure::NotApplied(text) | Failure::Unknown(text) => {
                        timeline.push(format!(
                            "{:?} via member {}: {text}",
                            killed_at.elapsed(),
                            survivors[(attempts - 1) % 2]
                        ));
                    }
                },
            }
            assert!(
                killed_at.elapsed() < WAIT,
                "no write succeeded within {WAIT:?} after the leader was killed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let shown: Vec<&String> = if timeline.len() <= 6 {
            timeline.iter().collect()
        } else {
            timeline[..3]
                .iter()
                .chain(&timeline[timeline.len() - 3..])
                .collect()
        };
        println!(
            "failover: first acknowledged write {elapsed:?} after kill -9 of the leader \
             (member {leader}, partition {partition}); {} failed attempts before it, first and \
             last:\n  {}",
            timeline.len(),
            shown
                .iter()
                .map(|line| line.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );

        // A survivor leads now, in a later term, and both survivors serve the new value.
        let new_leader = cluster.leader_of(partition).await;
        assert!(survivors.contains(&new_leader));
        let new_term = hosted(&cluster.status(new_leader).await, partition)
            .expect("hosted")
            .term;
        assert!(new_term > old_term, "term {new_term} after {old_term}");
        let expected = format!("after-{attempts}");
        for connection in &mut connections {
            let value = get_retrying(connection, key, WAIT).await;
            assert_eq!(value.as_deref(), Some(expected.as_str()));
        }
        assert!(
            elapsed < FAILOVER_BOUND,
            "writes resumed {elapsed:?} after the leader was killed (bound {FAILOVER_BOUND:?})"
        );
    })
    .await;
}
