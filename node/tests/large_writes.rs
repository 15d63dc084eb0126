//! Large values and the replication path: a write too large for the log is refused with a clear
//! error and leaves its partition working, and a follower catches up on large values (its log
//! entries are sent in frames bounded by bytes, not just by entry count).

mod cluster_support;

use std::time::Duration;

use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 4,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_over_max_write_size_is_refused_and_its_partition_keeps_working() {
    within(Duration::from_secs(120), "the test", async {
        let cluster = TestCluster::start(3, SETTINGS).await;
        let keys = keys_in_partition(SETTINGS.partitions, 1, "big", 2);
        let mut connection = cluster.redis(0).await;
        set_retrying(&mut connection, &keys[0], "before", WAIT).await;

        let huge = vec![b'x'; 70 << 20];
        let refused: redis::RedisResult<()> = query_retrying(
            &mut connection,
            redis::cmd("SET").arg(&keys[0]).arg(huge.as_slice()),
        )
        .await;
        let error = refused.expect_err("a 70 MiB SET is refused");
        assert!(
            error.to_string().contains("max-write-size"),
            "the error names the limit: {error}"
        );

        // Nothing changed, and the partition still takes writes at once (no stall behind a
        // log entry that could never be replicated).
        let value: Option<String> =
            query_retrying(&mut connection, redis::cmd("GET").arg(&keys[0]))
                .await
                .expect("GET");
        assert_eq!(value.as_deref(), Some("before"));
        for (round, key) in keys.iter().enumerate() {
            let () = within(
                Duration::from_secs(5),
                "a write to the same partition",
                query_retrying(
                    &mut connection,
                    redis::cmd("SET").arg(key).arg(format!("after {round}")),
                ),
            )
            .await
            .expect("SET after the refused one");
        }
        // Every replica applied those writes.
        for ordinal in 0..3 {
            let values = cluster.get_many(ordinal, &keys, 1, true).await;
            assert_eq!(
                values[&keys[1]].as_deref(),
                Some("after 1"),
                "member {ordinal}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_catches_up_on_one_mebibyte_values() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let victim = 2;
        cluster.kill(victim);
        // About 100 MiB in one partition's log, far more than one cluster frame (64 MiB) and
        // far fewer entries than openraft's batch (300) or a snapshot (5000).
        let keys = keys_in_partition(SETTINGS.partitions, 2, "mib", 100);
        let pairs: Vec<(String, String)> = keys
            .iter()
            .map(|key| (key.clone(), format!("{key}:{}", "v".repeat(1 << 20))))
            .collect();
        cluster.set_many(0, &pairs, 4).await;

        cluster.restart(victim).await;
        cluster.wait_ready(victim).await;
        // Its own replica (READONLY reads) ends up with every value, whole.
        let cluster = &cluster;
        let (keys, pairs) = (&keys, &pairs);
        eventually(
            Duration::from_secs(60),
            "the restarted follower holds every 1 MiB value",
            || async move {
                let values = cluster.get_many(victim, keys, 4, true).await;
                pairs
                    .iter()
                    .all(|(key, value)| values[key].as_ref() == Some(value))
                    .then_some(())
            },
        )
        .await;
    })
    .await;
}
