//! A member joining a running cluster without hosting anything (`POST /v1/cluster/join`, as the
//! operator does on scale-out) is ready at once, serves plain clients by forwarding through the
//! routes it learns from its seed peers (kept across a restart), and stays ready while it receives
//! a replica as a learner; the leader's status shows the learner's progress
//! (`replication[].matchedIndex`).

mod cluster_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cluster_support::*;
use ringcache_admin::{ClusterSettings, ErrorKind, HostRequest, JoinRequest, Replica, Role};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// Polls a member's `/readyz` until stopped, counting the answers that were not "ready".
struct ReadinessSampler {
    stop: Arc<AtomicBool>,
    samples: Arc<AtomicU64>,
    not_ready: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadinessSampler {
    fn start(admin_address: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicU64::new(0));
        let not_ready = Arc::new(std::sync::Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let (stop, samples, not_ready) = (stop.clone(), samples.clone(), not_ready.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let answer = http(&admin_address, "GET", "/readyz", b"").await;
                    samples.fetch_add(1, Ordering::Relaxed);
                    if answer.status != 200 {
                        not_ready.lock().unwrap().push(format!(
                            "{}: {}",
                            answer.status,
                            answer.body.trim()
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
        });
        ReadinessSampler {
            stop,
            samples,
            not_ready,
            task,
        }
    }

    /// Stops sampling; returns how many samples were taken and the not-ready answers.
    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("readiness sampler");
        let not_ready = self.not_ready.lock().unwrap().clone();
        (self.samples.load(Ordering::Relaxed), not_ready)
    }
}

/// `matchedIndex` of `id` and `committedIndex` in the raw `/v1/status` JSON of a member, for
/// `partition`, if the member leads it and reports that replica.
fn learner_progress(status: &serde_json::Value, partition: u32, id: u64) -> Option<(u64, u64)> {
    let view = status["partitions"]
        .as_array()?
        .iter()
        .find(|view| view["partition"] == partition)?;
    if view["role"] != "leader" {
        return None;
    }
    let committed = view["committedIndex"].as_u64()?;
    let matched = view["replication"]
        .as_array()?
        .iter()
        .find(|progress| progress["id"] == id)?["matchedIndex"]
        .as_u64()?;
    Some((matched, committed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_member_hosting_nothing_is_ready_forwards_and_stays_ready_as_a_learner() {
    within(Duration::from_secs(170), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let newcomer = cluster.add_member().await;
        let admin = cluster.admin(newcomer);
        assert!(
            !admin.ready().await.expect("readyz"),
            "a member that joined nothing is not ready"
        );

        // The operator's seed list names every member, the newcomer included.
        let mut seeds: Vec<Replica> = Vec::new();
        for ordinal in 0..=newcomer {
            seeds.push(cluster.status(ordinal).await.member);
        }
        let newcomer_replica = seeds[newcomer].clone();
        let join = JoinRequest {
            settings: SETTINGS,
            members: seeds.clone(),
        };
        let joined = admin.join(&join).await.expect("join");
        assert_eq!(joined.cluster, Some(SETTINGS));
        assert!(joined.partitions.is_empty(), "{joined:?}");
        assert!(joined.ready, "{joined:?}");
        assert_eq!(
            admin.join(&join).await.expect("join again").member,
            newcomer_replica,
            "join is idempotent"
        );
        let other_settings = JoinRequest {
            settings: ClusterSettings {
                partitions: 32,
                ..SETTINGS
            },
            members: seeds.clone(),
        };
        let refused = admin.join(&other_settings).await.unwrap_err();
        assert_eq!(
            refused.api_error().map(|body| body.kind),
            Some(ErrorKind::BadRequest),
            "{refused}"
        );
        let malformed = http(
            &cluster.members[newcomer].admin_address(),
            "POST",
            "/v1/cluster/join",
            br#"{"settings": {"partitions": 16, "replicationFactor": 3},
                 "members": [{"id": 1, "ordinal": 0, "address": "no-ports"}]}"#,
        )
        .await;
        assert_eq!(malformed.status, 400, "{}", malformed.body);
        assert!(
            malformed.body.contains("host:port@clusterPort"),
            "{}",
            malformed.body
        );

        let sampler = ReadinessSampler::start(cluster.members[newcomer].admin_address());

        // Plain clients get every key forwarded to its leader: the newcomer stores nothing.
        let keys: Vec<String> = (0..SETTINGS.partitions)
            .map(|partition| {
                keys_in_partition(SETTINGS.partitions, partition, "joined", 1).remove(0)
            })
            .collect();
        let mut through_newcomer = cluster.redis(newcomer).await;
        for key in &keys {
            set_retrying(&mut through_newcomer, key, &format!("{key}-value"), WAIT).await;
        }
        let mut through_member_0 = cluster.redis(0).await;
        for key in &keys {
            let expected = Some(format!("{key}-value"));
            assert_eq!(
                get_retrying(&mut through_newcomer, key, WAIT).await,
                expected
            );
            assert_eq!(
                get_retrying(&mut through_member_0, key, WAIT).await,
                expected
            );
        }
        let newcomer_status = cluster.status(newcomer).await;
        assert!(newcomer_status.partitions.is_empty(), "{newcomer_status:?}");
        let dbsize: u64 = redis::cmd("DBSIZE")
            .query_async(&mut through_newcomer)
            .await
            .expect("DBSIZE");
        assert_eq!(dbsize, 0, "forwarded writes are stored by the replicas");

        // A cluster-aware client sees the whole slot map through it.
        let mut topology = cluster.redis(newcomer).await;
        let slots: Vec<redis::Value> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut topology)
            .await
            .expect("CLUSTER SLOTS");
        assert_eq!(slots.len(), SETTINGS.partitions as usize);

        let (samples, not_ready) = sampler.finish().await;
        assert!(
            not_ready.is_empty(),
            "the joined member was not ready {} of {samples} times: {not_ready:?}",
            not_ready.len()
        );

        // Restarted, it still knows its seeds (seeds.json): it is ready and forwards before any
        // new join.
        drop((through_newcomer, topology));
        cluster.kill(newcomer);
        cluster.restart(newcomer).await;
        assert!(
            admin.ready().await.expect("readyz"),
            "ready after a restart"
        );
        let mut through_newcomer = cluster.redis(newcomer).await;
        for key in &keys {
            assert_eq!(
                get_retrying(&mut through_newcomer, key, WAIT).await,
                Some(format!("{key}-value"))
            );
        }
        let sampler = ReadinessSampler::start(cluster.members[newcomer].admin_address());

        // Give partition 0 something to catch up on, then move a replica of it to the newcomer.
        let partition = 0;
        let backlog: Vec<(String, String)> =
            keys_in_partition(SETTINGS.partitions, partition, "backlog", 200)
                .into_iter()
                .map(|key| {
                    let value = format!("{key}-{}", "x".repeat(200));
                    (key, value)
                })
                .collect();
        cluster.set_many(0, &backlog, 4).await;
        let hosted_view = admin
            .host_partition(partition, &HostRequest { settings: SETTINGS })
            .await
            .expect("host partition 0 on the newcomer");
        assert!(hosted_view.voters.is_empty(), "{hosted_view:?}");
        assert!(admin.ready().await.expect("readyz"), "waiting to be added");
        let leader = cluster.leader_of(partition).await;
        let learner = newcomer_replica.clone();
        cluster
            .on_leader(partition, leader, "add learner", |admin| {
                let learner = learner.clone();
                async move { admin.add_learner(partition, &learner).await }
            })
            .await;

        let leader = cluster.leader_of(partition).await;
        let leader_admin = cluster.members[leader].admin_address();
        let (matched, committed) =
            eventually(WAIT, "the leader reports the learner caught up", || {
                let leader_admin = leader_admin.clone();
                async move {
                    let answer = http(&leader_admin, "GET", "/v1/status", b"").await;
                    let status: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
                    learner_progress(&status, partition, newcomer_replica.id)
                        .filter(|(matched, committed)| matched >= committed)
                }
            })
            .await;
        let leader_status = cluster.status(leader).await;
        let leader_view = hosted(&leader_status, partition).expect("the leader hosts it");
        assert!(
            leader_view
                .replication
                .iter()
                .any(|progress| progress.id == newcomer_replica.id),
            "{leader_view:?}"
        );
        assert!(
            leader_view
                .replication
                .iter()
                .all(|progress| progress.id != leader_status.member.id),
            "the leader does not report itself: {leader_view:?}"
        );
        let learner_status = cluster.status(newcomer).await;
        let learner_view = hosted(&learner_status, partition).expect("the newcomer hosts it");
        assert_eq!(learner_view.role, Role::Learner, "{learner_view:?}");
        assert!(
            learner_view.replication.is_empty(),
            "only leaders report progress: {learner_view:?}"
        );

        // Let the sampler see the settled learner for a moment too.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (samples, not_ready) = sampler.finish().await;
        println!(
            "learner caught up at index {matched} (leader committed {committed}); {samples} \
             readiness samples"
        );
        assert!(samples >= 10, "too few readiness samples: {samples}");
        assert!(
            not_ready.is_empty(),
            "the newcomer was not ready {} of {samples} times: {:?}",
            not_ready.len(),
            not_ready
        );
    })
    .await;
}
