//! The cluster port admits only hosts that prove they know the cluster secret: a raw client
//! sending well-formed Raft frames is disconnected before any frame is read, and a host with
//! another secret cannot take part in a group.

mod support;

use std::time::Duration;

use ringcache_replication::{ClusterSecret, Rejection, ReplicationHost, Role};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GROUP: u32 = 3;
const FORGED_TERM: u64 = 1_000;

async fn three_hosts(secret: Option<&[u8]>) -> Vec<ReplicationHost<Kv>> {
    let mut hosts = Vec::new();
    for ordinal in 0..3 {
        let mut config = test_config(None);
        config.cluster_secret = secret.map(ClusterSecret::new);
        hosts.push(start_host_with("127.0.0.1:0", ordinal, config).await);
    }
    host_and_bootstrap(&hosts, GROUP).await;
    hosts
}

/// Sends a forged AppendEntries of term 1000 to a follower of `GROUP` over a raw connection;
/// returns the follower and whether the connection was closed on us.
async fn forge_leadership(hosts: &[ReplicationHost<Kv>]) -> (&ReplicationHost<Kv>, bool) {
    let all: Vec<_> = hosts.iter().collect();
    let leader = await_leader(&all, GROUP).await;
    let follower = hosts
        .iter()
        .find(|host| host.id() != leader.id())
        .expect("a follower");
    let frame = ringcache_replication::testing::forged_append_entries(
        GROUP,
        follower.id(),
        leader.id(),
        FORGED_TERM,
    );
    let mut stream = TcpStream::connect(follower.address())
        .await
        .expect("connect");
    // Sent twice: a listener that waits for more than the first bytes still gets a whole frame.
    stream.write_all(&frame).await.expect("send");
    let _ = stream.write_all(&frame).await;
    let mut answer = vec![0u8; 4096];
    let closed = match tokio::time::timeout(Duration::from_secs(8), stream.read(&mut answer)).await
    {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    };
    (follower, closed)
}

fn term(host: &ReplicationHost<Kv>) -> u64 {
    host.status(GROUP).expect("hosted").term
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_raft_frames_without_the_secret_are_refused_and_change_nothing() {
    let hosts = three_hosts(Some(TEST_SECRET)).await;
    let all: Vec<_> = hosts.iter().collect();
    write(&all, GROUP, "key", "before").await.expect("write");
    let terms_before: Vec<u64> = hosts.iter().map(term).collect();
    let leader_before = await_leader(&all, GROUP).await.id();

    let (follower, closed) = forge_leadership(&hosts).await;
    assert!(
        closed,
        "the member kept a connection that never proved the secret"
    );
    assert_eq!(
        follower
            .wire_counters()
            .rejected()
            .get(Rejection::NoHandshake),
        1
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let terms_after: Vec<u64> = hosts.iter().map(term).collect();
    assert_eq!(terms_after, terms_before, "a forged frame changed a term");
    assert!(terms_after.iter().all(|term| *term < FORGED_TERM));
    assert_eq!(await_leader(&all, GROUP).await.id(), leader_before);
    assert_eq!(read(&all, GROUP, "key").await.as_deref(), Some("before"));
    for host in &hosts {
        host.shutdown().await;
    }
}

/// The same frame on an unauthenticated cluster port takes effect: what the handshake prevents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_the_same_frame_would_hijack_the_group() {
    let hosts = three_hosts(None).await;
    let (follower, _) = forge_leadership(&hosts).await;
    assert!(
        eventually(|| term(follower) >= FORGED_TERM).await,
        "the forged frame was expected to take effect without a secret (term {})",
        term(follower)
    );
    for host in &hosts {
        host.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_another_secret_takes_no_part() {
    let mut hosts = Vec::new();
    for (ordinal, secret) in [
        TEST_SECRET,
        TEST_SECRET,
        b"another-cluster-secret-0123456789abcdef",
    ]
    .into_iter()
    .enumerate()
    {
        let mut config = test_config(None);
        config.cluster_secret = Some(ClusterSecret::new(secret));
        hosts.push(start_host_with("127.0.0.1:0", ordinal as u16, config).await);
    }
    host_and_bootstrap(&hosts, GROUP).await;
    let members: Vec<_> = hosts[..2].iter().collect();
    // The two that share the secret are a majority of three: they elect and commit.
    write(&members, GROUP, "key", "value")
        .await
        .expect("the two members commit");
    let outsider = &hosts[2];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = outsider.status(GROUP).expect("hosted");
    assert_ne!(status.role, Role::Leader);
    assert_eq!(status.applied_index, None, "the outsider received entries");
    // The leader tried to replicate to it: the leader found the outsider's proof wrong and
    // gave up, so the outsider saw an unfinished handshake (a dialer that sends a wrong proof
    // is counted as wrong_secret instead).
    let refused = |host: &ReplicationHost<Kv>| {
        let rejected = host.wire_counters().rejected();
        rejected.get(Rejection::WrongSecret) + rejected.get(Rejection::Incomplete)
    };
    assert!(eventually(|| hosts.iter().map(refused).sum::<u64>() > 0).await);
    for host in &hosts {
        host.shutdown().await;
    }
}
