//! Members crash (`kill -9`) and come back: a member restarted with its data directory catches up
//! under its old Raft id, and a member restarted with an empty data directory is a new Raft node
//! (a new incarnation of the same ordinal).

mod cluster_support;

use std::collections::BTreeSet;
use std::time::Duration;

use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_member_catches_up_and_an_emptied_one_is_a_new_raft_node() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let victim = 2;
        let before = cluster.status(victim).await.member;
        assert_eq!(before.ordinal, 2);
        let keys: Vec<String> = (0..64).map(|index| format!("restart:{index}")).collect();
        let partitions: BTreeSet<u32> = keys
            .iter()
            .map(|key| partition_of_key(SETTINGS.partitions, key.as_bytes()))
            .collect();
        assert_eq!(partitions.len(), 16, "the keys cover every partition");
        let before_crash: Vec<(String, String)> = keys[..32]
            .iter()
            .map(|key| (key.clone(), "before the crash".to_owned()))
            .collect();
        cluster.set_many(0, &before_crash, 8).await;

        cluster.kill(victim);
        // Written while the victim is down: overwrites and new keys, on every partition (those
        // the victim led fail over first).
        let while_down: Vec<(String, String)> = keys
            .iter()
            .map(|key| (key.clone(), format!("{key} while down")))
            .collect();
        cluster.set_many(0, &while_down, 8).await;

        cluster.restart(victim).await;
        cluster.wait_ready(victim).await;
        let after = cluster.status(victim).await;
        assert_eq!(
            after.member, before,
            "a restart with the data directory keeps the Raft id"
        );
        assert_eq!(
            after.partitions.len(),
            16,
            "every replica resumed from disk"
        );
        for partition in &after.partitions {
            assert!(
                partition.voters.iter().any(|voter| voter.id == before.id),
                "still a voter of partition {}",
                partition.partition
            );
        }
        // Stale reads from its own replicas (READONLY) see everything written while it was down.
        let values = cluster.get_many(victim, &keys, 4, true).await;
        for (key, value) in &while_down {
            assert_eq!(
                values[key].as_ref(),
                Some(value),
                "READONLY GET {key} on the restarted member"
            );
        }
        let metrics = http(
            &cluster.members[victim].admin_address(),
            "GET",
            "/metrics",
            b"",
        )
        .await
        .body;
        let stale: u64 = metrics
            .lines()
            .find_map(|line| line.strip_prefix("ringcache_reads_total{kind=\"stale\"} "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no stale read counter in {metrics}"));
        assert!(
            stale >= keys.len() as u64,
            "the READONLY reads were served from the member's own replicas ({stale} stale reads)"
        );

        // An empty data directory: same ordinal, new incarnation, not part of the cluster.
        cluster.kill(victim);
        cluster.wipe(victim);
        cluster.restart(victim).await;
        let fresh = cluster.status(victim).await;
        assert_eq!(fresh.member.ordinal, before.ordinal);
        assert_eq!(fresh.member.id >> 48, u64::from(before.ordinal));
        assert_ne!(
            fresh.member.id, before.id,
            "an empty data directory must give a new Raft id"
        );
        assert!(fresh.cluster.is_none(), "an empty member has not joined");
        assert!(fresh.partitions.is_empty());
        let myid: String = redis::cmd("CLUSTER")
            .arg("MYID")
            .query_async(&mut cluster.redis(victim).await)
            .await
            .expect("CLUSTER MYID");
        assert_eq!(myid, format!("{:040x}", fresh.member.id));

        // The other two still form a majority of every partition and serve it.
        let leaders = cluster.leaders().await;
        assert!(
            leaders.values().all(|leader| *leader != victim),
            "{leaders:?}"
        );
        let values = cluster.get_many(1, &keys[..16], 4, false).await;
        for (key, value) in &while_down[..16] {
            assert_eq!(values[key].as_ref(), Some(value), "GET {key} via member 1");
        }
    })
    .await;
}
