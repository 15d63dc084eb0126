//! Collections in a cluster: a replica of a partition holding a list, a sorted set, a hash and a
//! set moves to a new member while a client keeps pushing to the list and adding to the sorted
//! set. Every acknowledged element is on the new replica afterwards, once and in order: the
//! partition's snapshot carries collections (in DUMP format) and the log carries the rest.

mod cluster_support;

use std::sync::Arc;
use std::time::Duration;

use cluster_support::*;
use parking_lot::Mutex;
use redis::AsyncCommands;
use ringcache_admin::{ClusterSettings, HostRequest};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_move_in_the_middle_of_list_and_sorted_set_traffic_loses_nothing() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let newcomer = cluster.add_member().await;
        let newcomer_replica = cluster.status(newcomer).await.member;
        let partition = 3;
        let leaving = cluster.leader_of(partition).await;
        let leaving_id = cluster.status(leaving).await.member.id;
        let entry = (0..3)
            .find(|member| *member != leaving)
            .expect("a member that stays");
        // Hash tags keep the four keys in one slot, so in the same partition.
        let tag = keys_in_partition(SETTINGS.partitions, partition, "coll", 1)
            .pop()
            .expect("a key of the partition");
        let list = format!("{{{tag}}}:list");
        let zset = format!("{{{tag}}}:zset");
        let hash = format!("{{{tag}}}:hash");
        let set = format!("{{{tag}}}:set");

        let mut client = cluster.redis(entry).await;
        for field in 0..50 {
            let _: i64 = client
                .hset(&hash, format!("f{field}"), field)
                .await
                .expect("HSET");
            let _: i64 = client.sadd(&set, format!("m{field}")).await.expect("SADD");
        }

        // The writer: RPUSH i and ZADD i m<i>, recording what was acknowledged.
        let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            let mut client = cluster.redis(entry).await;
            let (list, zset) = (list.clone(), zset.clone());
            tokio::spawn(async move {
                let mut next = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let pushed: redis::RedisResult<i64> = client.rpush(&list, next).await;
                    let added: redis::RedisResult<i64> =
                        client.zadd(&zset, format!("m{next}"), next).await;
                    if pushed.is_ok() && added.is_ok() {
                        acknowledged.lock().push(next);
                    }
                    next += 1;
                }
                next
            })
        };
        let progressed = |count: usize| {
            let acknowledged = acknowledged.clone();
            async move {
                eventually(WAIT, "writes are acknowledged", || {
                    let seen = acknowledged.lock().len();
                    async move { (seen >= count).then_some(()) }
                })
                .await
            }
        };
        progressed(50).await;

        // The move: host, learner, promote, hand leadership to the newcomer, remove, drop.
        let settings = SETTINGS;
        cluster
            .admin(newcomer)
            .host_partition(partition, &HostRequest { settings })
            .await
            .expect("host the partition");
        let replica = newcomer_replica.clone();
        cluster
            .on_leader(partition, leaving, "add learner", |admin| {
                let replica = replica.clone();
                async move { admin.add_learner(partition, &replica).await }
            })
            .await;
        let newcomer_id = newcomer_replica.id;
        cluster
            .on_leader(partition, leaving, "promote", |admin| async move {
                admin.promote(partition, newcomer_id).await
            })
            .await;
        cluster
            .on_leader(
                partition,
                leaving,
                "transfer leadership",
                |admin| async move { admin.transfer_leadership(partition, newcomer_id).await },
            )
            .await;
        cluster
            .on_leader(partition, newcomer, "remove replica", |admin| async move {
                admin.remove_replica(partition, leaving_id).await
            })
            .await;
        cluster
            .admin(leaving)
            .drop_partition(partition)
            .await
            .expect("drop the old replica");
        let after_move = acknowledged.lock().len() + 50;
        progressed(after_move).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let attempted = writer.await.expect("writer");
        let acknowledged = acknowledged.lock().clone();

        // Read on the new member's own copy (READONLY reads its replica), once it caught up.
        let mut reader = cluster.redis(newcomer).await;
        let _: () = redis::cmd("READONLY")
            .query_async(&mut reader)
            .await
            .expect("READONLY");
        let elements: Vec<u64> = eventually(WAIT, "the new replica has every push", || {
            let mut reader = reader.clone();
            let list = list.clone();
            let last = *acknowledged.last().expect("writes");
            async move {
                let elements: Vec<u64> = reader.lrange(&list, 0, -1).await.ok()?;
                elements.contains(&last).then_some(elements)
            }
        })
        .await;
        // Every acknowledged push once, in order; others (unknown outcomes) at most once.
        let mut previous = None;
        for element in &elements {
            assert!(*element < attempted, "{element} was never pushed");
            assert!(
                previous < Some(*element),
                "out of order or twice: {elements:?}"
            );
            previous = Some(*element);
        }
        for pushed in &acknowledged {
            assert!(elements.contains(pushed), "acknowledged push {pushed} lost");
        }
        let members: Vec<(String, f64)> = reader
            .zrange_withscores(&zset, 0, -1)
            .await
            .expect("ZRANGE");
        for added in &acknowledged {
            assert!(
                members.contains(&(format!("m{added}"), *added as f64)),
                "acknowledged ZADD m{added} lost"
            );
        }
        let fields: i64 = reader.hlen(&hash).await.expect("HLEN");
        let cardinality: i64 = reader.scard(&set).await.expect("SCARD");
        assert_eq!((fields, cardinality), (50, 50));
        let value: String = reader.hget(&hash, "f7").await.expect("HGET");
        assert_eq!(value, "7");
        println!(
            "moved partition {partition} ({leaving} → {newcomer}) under list and sorted-set \
             traffic: {} of {attempted} pushes acknowledged, {} elements on the new replica",
            acknowledged.len(),
            elements.len()
        );
    })
    .await;
}
