//! Who may change a cluster: the admin API wants the cluster secret on every route that changes or
//! reveals cluster state (401 otherwise, counted by reason), the probes and /metrics stay open, the
//! unauthenticated pre-stop hook only hands leadership away and is rate-limited, and a password
//! rotated member by member takes effect without a restart while forwarding keeps working.

mod cluster_support;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster_support::*;
use ringcache_admin::{ClusterSettings, ErrorBody, ErrorKind, LeaveResponse};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 8,
    replication_factor: 3,
};

/// Voter ids per partition, as every member reports them.
async fn placement(cluster: &TestCluster) -> BTreeMap<(usize, u32), Vec<u64>> {
    let mut placement = BTreeMap::new();
    for ordinal in 0..cluster.members.len() {
        for partition in cluster.status(ordinal).await.partitions {
            let mut voters: Vec<u64> = partition.voters.iter().map(|voter| voter.id).collect();
            voters.sort_unstable();
            placement.insert((ordinal, partition.partition), voters);
        }
    }
    placement
}

fn metric(text: &str, sample: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_refuse_callers_without_the_cluster_secret() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let leader = cluster.leader_of(0).await;
        let status = cluster.status(leader).await;
        let partition = hosted(&status, 0).expect("the leader hosts partition 0");
        let other = partition
            .voters
            .iter()
            .find(|voter| voter.id != status.member.id)
            .expect("another voter")
            .clone();
        let admin = cluster.members[leader].admin_address();
        let before = placement(&cluster).await;

        let remove = format!("/v1/partitions/0/replicas/{}", other.id);
        let transfer = format!(r#"{{"to":{}}}"#, other.id);
        let learner = r#"{"replica":{"id":99,"address":"127.0.0.9:16379","ordinal":9}}"#;
        let form = r#"{"settings":{"partitions":4,"replicationFactor":1},"members":[{"ordinal":0,"adminAddress":"127.0.0.1:1"}]}"#;
        let host = r#"{"settings":{"partitions":8,"replicationFactor":3}}"#;
        // Every route that changes or reveals cluster state, with a body that would act.
        let routes: Vec<(&str, &str, &[u8])> = vec![
            ("GET", "/v1/status", b""),
            ("POST", "/v1/cluster/form", form.as_bytes()),
            ("POST", "/v1/cluster/join", br#"{"settings":{"partitions":8,"replicationFactor":3},"seeds":[]}"#),
            ("PUT", "/v1/partitions/5", host.as_bytes()),
            ("DELETE", "/v1/partitions/0", b""),
            ("POST", "/v1/partitions/0/bootstrap", br#"{"voters":[]}"#),
            ("POST", "/v1/partitions/0/learners", learner.as_bytes()),
            ("POST", "/v1/partitions/0/promote", br#"{"id":99}"#),
            ("POST", "/v1/partitions/0/transfer-leadership", transfer.as_bytes()),
            ("DELETE", &remove, b""),
            ("POST", "/v1/leave", b""),
        ];
        let wrong = "Bearer node-tests-cluster-secret-0123456789abcdeX".to_owned();
        let credentials: [(Option<&str>, &str); 4] = [
            (None, "missing"),
            (Some("Basic dXNlcjpwYXNz"), "malformed"),
            (Some(&wrong), "wrong_secret"),
            (Some(CLUSTER_SECRET), "malformed"),
        ];
        for (method, path, body) in &routes {
            for (authorization, _) in &credentials {
                let answer = http_as(&admin, method, path, body, *authorization).await;
                assert_eq!(
                    answer.status, 401,
                    "{method} {path} with {authorization:?}: {}",
                    answer.body
                );
                let error: ErrorBody = serde_json::from_str(&answer.body)
                    .unwrap_or_else(|_| panic!("{method} {path}: not an error body: {}", answer.body));
                assert_eq!(error.kind, ErrorKind::Unauthorized);
                assert!(error.message.contains("secret"), "{}", error.message);
            }
        }
        // Nothing changed: same voters everywhere, same leader of partition 0.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(placement(&cluster).await, before);
        assert_eq!(cluster.leader_of(0).await, leader);

        // Counted by reason, on the member that was called.
        let metrics = http_as(&admin, "GET", "/metrics", b"", None).await;
        assert_eq!(metrics.status, 200);
        let count = |reason: &str| {
            metric(
                &metrics.body,
                &format!("ringcache_admin_requests_unauthorized_total{{reason=\"{reason}\"}}"),
            )
        };
        assert_eq!(count("missing"), routes.len() as u64);
        assert_eq!(count("malformed"), 2 * routes.len() as u64);
        assert_eq!(count("wrong_secret"), routes.len() as u64);

        // The same call with the secret does act: the refusals above are what kept it out.
        let answer = http(&admin, "POST", "/v1/partitions/0/transfer-leadership", transfer.as_bytes()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_ne!(cluster.leader_of(0).await, leader);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_stay_open_and_pre_stop_only_hands_leadership_away() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let leader = cluster.leader_of(0).await;
        let admin = cluster.members[leader].admin_address();
        for path in ["/healthz", "/readyz", "/metrics"] {
            let answer = http_as(&admin, "GET", path, b"", None).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        }
        let before = placement(&cluster).await;

        let answer = http_as(&admin, "GET", "/v1/lifecycle/pre-stop", b"", None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let handed: LeaveResponse = serde_json::from_str(&answer.body).expect("a leave answer");
        assert!(handed.transferred.contains(&0), "{handed:?}");
        assert_ne!(cluster.leader_of(0).await, leader);
        // Called again at once (anyone can reach it): refused, nothing moves.
        let again = http_as(&admin, "GET", "/v1/lifecycle/pre-stop", b"", None).await;
        assert_eq!(again.status, 429, "{}", again.body);
        let error: ErrorBody = serde_json::from_str(&again.body).expect("an error body");
        assert_eq!(error.kind, ErrorKind::TooManyRequests);
        // It never leaves: the member is still a voter of everything it hosted.
        assert_eq!(placement(&cluster).await, before);
        let metrics = http_as(&admin, "GET", "/metrics", b"", None).await;
        assert_eq!(
            metric(
                &metrics.body,
                "ringcache_admin_pre_stop_calls_total{result=\"handed_off\"}"
            ),
            1
        );
        assert_eq!(
            metric(
                &metrics.body,
                "ringcache_admin_pre_stop_calls_total{result=\"rate_limited\"}"
            ),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_rotated_member_by_member_needs_no_restart() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::spawn_with_password(3, "first-password").await;
        cluster.form(SETTINGS).await;
        cluster.wait_ready_all().await;
        let pids: Vec<Option<u32>> = cluster.members.iter().map(|member| member.pid()).collect();
        let keys: Vec<String> = (0..64).map(|index| format!("rotation-{index}")).collect();
        let mut before = cluster.redis(0).await;
        for key in &keys {
            set_retrying(&mut before, key, "before", Duration::from_secs(20)).await;
        }

        // Member 0 gets the new password first (Kubernetes updates mounted Secrets pod by pod).
        std::fs::write(cluster.password_file(0), "second-password\n").expect("rotate");
        let old_url = format!("redis://:first-password@{}/", cluster.redis_address(0));
        eventually(
            Duration::from_secs(10),
            "member 0 refuses the old password",
            || {
                let old_url = old_url.clone();
                async move {
                    let client = redis::Client::open(old_url).expect("url");
                    let error = client.get_multiplexed_async_connection().await.err()?;
                    eprintln!("old password: {error}");
                    (error.kind() == redis::ErrorKind::AuthenticationFailed
                        || error.to_string().contains("WRONGPASS"))
                    .then_some(())
                }
            },
        )
        .await;
        // The new password works on a new connection; the old connection stays authenticated.
        let mut after = cluster.redis(0).await;
        let _: String = redis::cmd("PING")
            .query_async(&mut before)
            .await
            .expect("old connection");
        // Members 1 and 2 still have the old password: writes through member 0 to the
        // partitions they lead are forwarded with the cluster secret, not the password.
        for key in &keys {
            set_retrying(&mut after, key, "during", Duration::from_secs(20)).await;
        }
        for ordinal in 1..3 {
            std::fs::write(cluster.password_file(ordinal), "second-password\n").expect("rotate");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        for ordinal in 0..3 {
            let mut connection = cluster.redis(ordinal).await;
            for key in &keys {
                let value = get_retrying(&mut connection, key, Duration::from_secs(20)).await;
                assert_eq!(
                    value.as_deref(),
                    Some("during"),
                    "{key} on member {ordinal}"
                );
            }
        }
        let pids_after: Vec<Option<u32>> =
            cluster.members.iter().map(|member| member.pid()).collect();
        assert_eq!(pids_after, pids, "a member restarted");
    })
    .await;
}
