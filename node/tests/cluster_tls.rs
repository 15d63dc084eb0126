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
        let metrics = cluster.admin(0).metrics().await.expect("/metrics over TLS");
        assert!(
            metrics.lines().any(|line| line
                .strip_prefix("ringcache_cluster_connections_rejected_total{reason=\"tls\"} ")
                .and_then(|value| value.trim().parse::<u64>().ok())
                .is_some_and(|count| count >= 1)),
            "{metrics}"
        );
        // The admin port speaks TLS too: a plain HTTP call gets no answer; a caller with another
        // secret is refused on the TLS session; a member's way (the CA verifies the
        // certificate, the secret as is) works like the operator's (the secret bound to the
        // session, which the harness's admin client uses).
        let admin_address = cluster.members[0].admin_address();
        let plain = http_raw(
            &admin_address,
            b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(
            parse_http(&plain).is_none(),
            "plain HTTP answered: {plain:?}"
        );
        let stranger = ringcache_admin::AdminClient::new(admin_address.clone())
            .with_credential(Some("a-secret-of-another-cluster-0123456789".to_owned()))
            .with_tls(Some(ringcache_admin::AdminTls::SecretBound));
        // The member answers 401, believed without a proof (a refusal grants nothing; a member
        // with another secret can only prove that one), so the operator can say what is wrong.
        let refused = stranger
            .status()
            .await
            .expect_err("another secret is refused");
        assert_eq!(
            refused.api_error().map(|body| body.kind),
            Some(ringcache_admin::ErrorKind::Unauthorized),
            "{refused}"
        );
        let metrics = cluster.admin(0).metrics().await.expect("/metrics over TLS");
        assert!(
            metrics.lines().any(|line| line
                == "ringcache_admin_requests_unauthorized_total{reason=\"wrong_secret\"} 1"),
            "{metrics}"
        );
        let mut roots = rustls::RootCertStore::empty();
        let ca_pem = std::fs::read(cluster.tls_files().ca).unwrap();
        use rustls::pki_types::pem::PemObject;
        for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(&ca_pem) {
            roots.add(certificate.unwrap()).unwrap();
        }
        let verified = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let member_way = ringcache_admin::AdminClient::new(admin_address)
            .with_credential(Some(CLUSTER_SECRET.to_owned()))
            .with_tls(Some(ringcache_admin::AdminTls::Verified(
                std::sync::Arc::new(verified),
            )));
        let status = member_way.status().await.expect("the CA-verified call");
        assert_eq!(status.member.ordinal, 0);

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
