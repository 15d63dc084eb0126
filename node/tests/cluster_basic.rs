//! A formed 3-member cluster (RF 3, 16 partitions) behaves like a Redis Cluster to its clients:
//! every member serves every key, slots are Redis's, multi-slot requests are refused, cluster-aware
//! clients are redirected, and the topology covers every slot.

mod cluster_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cluster_support::*;
use redis::Value;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_serves_every_key_and_speaks_redis_cluster() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;

        // Writes through member 0, reads through 1 and 2, for keys of every partition.
        let keys: Vec<String> = (0..64).map(|index| format!("user:{index}")).collect();
        let partitions: BTreeSet<u32> = keys
            .iter()
            .map(|key| partition_of_key(SETTINGS.partitions, key.as_bytes()))
            .collect();
        assert_eq!(partitions.len(), 16, "the keys cover every partition");
        let pairs: Vec<(String, String)> = keys
            .iter()
            .map(|key| (key.clone(), format!("value of {key}")))
            .collect();
        cluster.set_many(0, &pairs, 8).await;
        for reader in [1, 2] {
            let values = cluster.get_many(reader, &keys, 8, false).await;
            for (key, value) in &pairs {
                assert_eq!(
                    values[key].as_ref(),
                    Some(value),
                    "GET {key} via member {reader}"
                );
            }
        }
        let mut writer = cluster.redis(0).await;
        let missing: Option<String> =
            query_retrying(&mut writer, redis::cmd("GET").arg("never-written"))
                .await
                .expect("GET of a missing key");
        assert_eq!(missing, None);

        // CLUSTER KEYSLOT: the values real Redis answers.
        let known = [
            ("foo", 12182),
            ("bar", 5061),
            ("hello", 866),
            ("somekey", 11058),
            ("foo{hash_tag}", 2515),
            ("bar{hash_tag}", 2515),
            ("123456789", 12739),
        ];
        for member in 0..3 {
            let mut connection = cluster.redis(member).await;
            for (key, slot) in known {
                let answer: i64 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
                    .expect("CLUSTER KEYSLOT");
                assert_eq!(answer, slot, "CLUSTER KEYSLOT {key} on member {member}");
            }
        }

        // Multi-key requests: one slot is fine, two are refused with CROSSSLOT.
        let error = query_retrying::<()>(
            &mut writer,
            redis::cmd("MSET").arg("foo").arg(1).arg("bar").arg(2),
        )
        .await
        .expect_err("MSET over two slots must fail");
        assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        let error = query_retrying::<Vec<Option<String>>>(
            &mut writer,
            redis::cmd("MGET").arg("foo").arg("bar"),
        )
        .await
        .expect_err("MGET over two slots must fail");
        assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        let () = query_retrying(
            &mut writer,
            redis::cmd("MSET").arg("{tag}a").arg(1).arg("{tag}b").arg(2),
        )
        .await
        .expect("MSET within one slot");
        let both: Vec<Option<String>> = query_retrying(
            &mut cluster.redis(2).await,
            redis::cmd("MGET").arg("{tag}a").arg("{tag}b"),
        )
        .await
        .expect("MGET within one slot");
        assert_eq!(both, [Some("1".to_owned()), Some("2".to_owned())]);

        // Who leads what, from the admin API. Leadership may move while the test looks (a busy
        // machine delays heartbeats): views are compared with the leaders as last seen, and a
        // mismatch is retried with a fresh look before it counts as a failure.
        let mut ids = Vec::new();
        for member in 0..3 {
            let status = cluster.status(member).await;
            assert_eq!(status.partitions.len(), 16, "RF 3 on 3 members: all hosted");
            for partition in &status.partitions {
                assert_eq!(partition.voters.len(), 3);
            }
            ids.push(status.member.id);
        }

        for (member, id) in ids.into_iter().enumerate() {
            let mut connection = cluster.redis(member).await;
            // CLUSTER MYID is the Raft id, as 40 hex digits.
            let myid: String = redis::cmd("CLUSTER")
                .arg("MYID")
                .query_async(&mut connection)
                .await
                .expect("CLUSTER MYID");
            assert_eq!(myid, format!("{id:040x}"));

            // CLUSTER INFO and CLUSTER SLOTS: all 16384 slots served, each partition's range once,
            // with its Raft leader first and the two other voters as replicas. Asking for SLOTS
            // makes the connection cluster-aware.
            let mut attempts = 0;
            let mut leaders = loop {
                let leaders = cluster.leaders().await;
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut connection)
                    .await
                    .expect("CLUSTER INFO");
                let slots: Vec<Vec<Value>> = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async(&mut connection)
                    .await
                    .expect("CLUSTER SLOTS");
                let verdict = if !info.contains("cluster_state:ok")
                    || !info.contains("cluster_slots_assigned:16384")
                {
                    Err(format!("CLUSTER INFO: {info}"))
                } else {
                    check_slots(&cluster, &slots, &leaders)
                };
                match verdict {
                    Ok(()) => break leaders,
                    Err(problem) => {
                        attempts += 1;
                        assert!(attempts < 20, "member {member}: {problem}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            };

            // Cluster-aware: a key led elsewhere answers -MOVED <slot> <leader>; a key led here
            // is served.
            for partition in 0..16 {
                let key = keys
                    .iter()
                    .find(|key| partition_of_key(16, key.as_bytes()) == partition)
                    .expect("a key of every partition");
                let expected_value = format!("value of {key}");
                let mut attempts = 0;
                loop {
                    let leader = leaders[&partition];
                    let answer = query_retrying::<Option<String>>(
                        &mut connection,
                        redis::cmd("GET").arg(key),
                    )
                    .await;
                    let expected_redirect = cluster.redis_address(leader);
                    let consistent = match &answer {
                        Ok(value) => {
                            assert_eq!(value.as_ref(), Some(&expected_value), "GET {key}");
                            leader == member
                        }
                        Err(error) => {
                            assert_eq!(error.code(), Some("MOVED"), "GET {key}: {error}");
                            leader != member
                                && error.redirect_node()
                                    == Some((expected_redirect.as_str(), key_slot(key.as_bytes())))
                        }
                    };
                    if consistent {
                        break;
                    }
                    attempts += 1;
                    assert!(
                        attempts < 20,
                        "GET {key} on member {member} answered {answer:?}, but partition \
                         {partition} is led by member {leader}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    leaders = cluster.leaders().await;
                }
            }

            let nodes: String = redis::cmd("CLUSTER")
                .arg("NODES")
                .query_async(&mut connection)
                .await
                .expect("CLUSTER NODES");
            assert_eq!(nodes.lines().count(), 3, "{nodes}");
            assert_eq!(
                nodes.lines().filter(|line| line.contains("myself")).count(),
                1,
                "{nodes}"
            );
            for other in 0..3 {
                assert!(
                    nodes.contains(&format!("{}@16379", cluster.redis_address(other))),
                    "{nodes}"
                );
            }
        }
    })
    .await;
}

/// `CLUSTER SLOTS`: ranges that tile 0..=16383, each led by the leader the admin API reports.
fn check_slots(
    cluster: &TestCluster,
    slots: &[Vec<Value>],
    leaders: &BTreeMap<u32, usize>,
) -> Result<(), String> {
    let addresses: Vec<String> = (0..3).map(|member| cluster.redis_address(member)).collect();
    let mut ranges: Vec<(u16, u16, String, usize)> = slots
        .iter()
        .map(|entry| {
            assert_eq!(
                entry.len(),
                5,
                "start, end, leader and two replicas: {entry:?}"
            );
            let start: u16 = redis::from_redis_value(&entry[0]).expect("start slot");
            let end: u16 = redis::from_redis_value(&entry[1]).expect("end slot");
            let nodes: Vec<String> = entry[2..]
                .iter()
                .map(|node| {
                    let (host, port, id): (String, u16, String) =
                        redis::from_redis_value(node).expect("host, port, id");
                    assert_eq!(id.len(), 40, "node id {id}");
                    format!("{host}:{port}")
                })
                .collect();
            let distinct: BTreeSet<&String> = nodes.iter().collect();
            assert_eq!(distinct.len(), 3, "three distinct replicas: {nodes:?}");
            for node in &nodes {
                assert!(addresses.contains(node), "unknown node {node}");
            }
            (start, end, nodes[0].clone(), nodes.len())
        })
        .collect();
    ranges.sort();
    // Overlaps are always wrong; a missing range or another master can be a leadership change
    // seen half-way (the caller looks again).
    let mut next = 0u32;
    for (start, end, leader, _) in &ranges {
        assert!(
            u32::from(*start) >= next && end >= start,
            "slot ranges overlap: {ranges:?}"
        );
        if u32::from(*start) != next {
            return Err(format!("slots {next}..{start} are missing: {ranges:?}"));
        }
        next = u32::from(*end) + 1;
        let partition = partition_of_slot(*start);
        assert_eq!(
            partition,
            partition_of_slot(*end),
            "one range per partition: {ranges:?}"
        );
        let expected = cluster.redis_address(leaders[&partition]);
        if *leader != expected {
            return Err(format!(
                "partition {partition}'s master is {leader}, its Raft leader {expected}"
            ));
        }
    }
    if next != 16384 {
        return Err(format!("CLUSTER SLOTS stops at slot {next}: {ranges:?}"));
    }
    Ok(())
}

fn partition_of_slot(slot: u16) -> u32 {
    ringcache_placement::PartitionCount::new(16)
        .unwrap()
        .partition_of(slot)
}
