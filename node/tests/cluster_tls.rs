//! A cluster whose Redis ports speak TLS: clients through any member read and write every
//! partition (plain clients forwarded over TLS to the leaders, which verify each other with the
//! CA), and cluster-aware clients follow `-MOVED` to TLS addresses. The cluster port speaks
//! mutual TLS with the same certificate: Raft between the members works, a plain connection is
//! refused.

mod cluster_support;

use std::time::{Duration, Instant};

use cluster_support::tls::redis_cli_tls;
use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 8,
    replication_factor: 2,
};

/// `redis-cli --tls` against member `ordinal`, retried while a partition has no leader yet.
async fn cli(
    cluster: &TestCluster,
    ordinal: usize,
    extra: &'static [&'static str],
    args: Vec<String>,
) -> String {
    let ca = cluster.tls_files().ca;
    let host = cluster.ip(ordinal).to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ca, host, call) = (ca.clone(), host.clone(), args.clone());
        let answer = tokio::task::spawn_blocking(move || {
            let call: Vec<&str> = call.iter().map(String::as_str).collect();
            redis_cli_tls(&ca, &host, 6379, extra, &call)
        })
        .await
        .expect("redis-cli task");
        match answer {
            Ok(text) if !text.starts_with("TRYAGAIN") && !text.starts_with("CLUSTERDOWN") => {
                return text;
            }
            other => {
                assert!(
                    Instant::now() < deadline,
                    "redis-cli {args:?} on member {ordinal}: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_read_and_write_every_partition_over_tls() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::spawn_with_tls(3).await;
        cluster.form(SETTINGS).await;
        cluster.wait_ready_all().await;
        // Keys in every partition, written through member 0: most are forwarded to a leader
        // elsewhere, over TLS verified against the cluster's CA.
        let keys: Vec<String> = (0..SETTINGS.partitions)
            .map(|partition| keys_in_partition(SETTINGS.partitions, partition, "tls", 1)[0].clone())
            .collect();
        for key in &keys {
            assert_eq!(
                cli(
                    &cluster,
                    0,
                    &[],
                    vec!["SET".into(), key.clone(), format!("v-{key}")]
                )
                .await,
                "OK"
            );
        }
        // A cluster-aware redis-cli (-c) on member 1 follows -MOVED to the TLS addresses.
        for key in &keys {
            assert_eq!(
                cli(&cluster, 1, &["-c"], vec!["GET".into(), key.clone()]).await,
                format!("v-{key}")
            );
        }
        let slots = cli(&cluster, 2, &[], vec!["CLUSTER".into(), "SLOTS".into()]).await;
        assert!(slots.contains("6379"), "{slots}");
        // The cluster port wants mutual TLS: a raw connection sending a Raft frame is refused
        // before anything is read, and counted.
        let bus = format!("{}:16379", cluster.ip(0));
        let frame = ringcache_replication::testing::forged_append_entries(
            0,
            ringcache_replication::RaftNodeId::new(0, 1),
            ringcache_replication::RaftNodeId::new(1, 1),
            1000,
        );
        let mut raw = tokio::net::TcpStream::connect(&bus)
            .await
            .expect("connect to the cluster port");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = raw.write_all(&frame).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(12), raw.read_to_end(&mut answer)).await;
        assert!(
            answer.len() < 64,
            "the cluster port answered a plain connection: {answer:?}"
        );
        let metrics = http(&cluster.members[0].admin_address(), "GET", "/metrics", b"").await;
        assert!(
            metrics.body.lines().any(|line| line
                .strip_prefix("ringcache_cluster_connections_rejected_total{reason=\"tls\"} ")
                .and_then(|value| value.trim().parse::<u64>().ok())
                .is_some_and(|count| count >= 1)),
            "{}",
            metrics.body
        );
        // Plain connections get nothing from a TLS port.
        let plain = redis::Client::open(format!("redis://{}/", cluster.redis_address(0))).unwrap();
        let refused = tokio::time::timeout(
            Duration::from_secs(15),
            plain.get_multiplexed_async_connection(),
        )
        .await;
        assert!(
            !matches!(refused, Ok(Ok(_))),
            "a plain client connected to a TLS port"
        );
    })
    .await;
}
