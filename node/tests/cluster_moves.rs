//! Moving a replica of a partition to a new member (host → add learner → promote → transfer
//! leadership → remove the old replica → drop it) while clients read and write that partition
//! loses no acknowledged write and serves no stale read: the recorded history is linearizable.

mod cluster_support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cluster_support::load::HistoryLoad;
use cluster_support::*;
use ringcache_admin::{ClusterSettings, HostRequest, Role};
use ringcache_e2e::linearizability::{Operation, Verdict, check};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};
const WORKERS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_replica_under_load_keeps_the_history_linearizable() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let newcomer = cluster.add_member().await;
        let newcomer_replica = cluster.status(newcomer).await.member;
        let partition = 5;
        // The replica that leaves is the partition's leader, so the move has to hand leadership
        // over; clients go through a member that stays.
        let leaving = cluster.leader_of(partition).await;
        let leaving_id = cluster.status(leaving).await.member.id;
        let entry = (0..3)
            .find(|member| *member != leaving)
            .expect("a staying member");
        let keys = keys_in_partition(SETTINGS.partitions, partition, "moving", 4);

        let load = HistoryLoad::start(&cluster, &[entry], WORKERS, &keys);
        let acknowledged = || load.acknowledged();
        load.wait_for_writes(20, WAIT, "the clients make progress")
            .await;

        // The move.
        let before_move = acknowledged();
        let settings = SETTINGS;
        let hosted_view = cluster
            .admin(newcomer)
            .host_partition(partition, &HostRequest { settings })
            .await
            .expect("host the partition on the new member");
        assert!(hosted_view.voters.is_empty(), "a new replica starts empty");
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
        let transferred = cluster.leader_of(partition).await == leaving;
        if transferred {
            cluster
                .on_leader(
                    partition,
                    leaving,
                    "transfer leadership",
                    |admin| async move { admin.transfer_leadership(partition, newcomer_id).await },
                )
                .await;
        }
        cluster
            .on_leader(partition, newcomer, "remove replica", |admin| async move {
                admin.remove_replica(partition, leaving_id).await
            })
            .await;
        // At once: the old replica cannot see its own removal, but asks the leader when told to
        // drop instead of waiting for its next routes refresh.
        cluster
            .admin(leaving)
            .drop_partition(partition)
            .await
            .expect("drop the old replica right after its removal");
        let during_move = acknowledged() - before_move;

        // Some more traffic after the move, then stop.
        load.wait_for_writes(20, WAIT, "the clients make progress after the move")
            .await;
        let tally = load.tally.clone();
        let history = load.finish().await;
        let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
        for record in &history {
            *per_key
                .entry(String::from_utf8_lossy(&record.key).into_owned())
                .or_default() += 1;
        }
        let writes = history
            .iter()
            .filter(|record| matches!(record.operation, Operation::Write(_)))
            .count();
        println!(
            "replica move of partition {partition} (member {leaving} → {newcomer}, leadership \
             handed over: {transferred}, clients via member {entry}): {} operations recorded \
             ({writes} writes), {} acknowledged writes during the move, {} not applied \
             (TRYAGAIN/CLUSTERDOWN), {} unknown outcomes, {} reads; per key {per_key:?}",
            history.len(),
            during_move,
            tally.not_applied.load(Ordering::Relaxed),
            tally.unknown.load(Ordering::Relaxed),
            tally.reads.load(Ordering::Relaxed),
        );
        assert!(
            during_move > 0,
            "writes must be acknowledged while the replica moves"
        );

        // The new member is a voter of the partition; the old one is gone from it.
        let newcomer_status = cluster.status(newcomer).await;
        let view = hosted(&newcomer_status, partition).expect("the new member hosts the partition");
        assert!(
            view.voters.iter().any(|voter| voter.id == newcomer_id),
            "the new member is a voter: {view:?}"
        );
        assert!(
            view.voters.iter().all(|voter| voter.id != leaving_id),
            "the old replica is no voter any more: {view:?}"
        );
        assert_eq!(view.voters.len(), 3, "still three replicas: {view:?}");
        assert!(view.learners.is_empty(), "{view:?}");
        assert!(
            matches!(view.role, Role::Leader | Role::Follower),
            "{view:?}"
        );
        let leaving_status = cluster.status(leaving).await;
        assert!(
            hosted(&leaving_status, partition).is_none(),
            "the old member dropped the partition"
        );

        // Every key reads the same through the new member as through the entry member.
        let mut through_entry = cluster.redis(entry).await;
        let mut through_newcomer = cluster.redis(newcomer).await;
        for key in &keys {
            let a = get_retrying(&mut through_entry, key, WAIT).await;
            let b = get_retrying(&mut through_newcomer, key, WAIT).await;
            assert_eq!(a, b, "{key}");
            assert!(a.is_some(), "{key} was written");
        }

        let verdict = tokio::task::spawn_blocking(move || check(&history))
            .await
            .expect("checker");
        assert_eq!(verdict, Verdict::Linearizable);
    })
    .await;
}
