//! Heartbeats of many groups to the same peer travel together: one socket write carries the
//! heartbeats (and one carries the answers) of every group a host leads, instead of one write
//! per group and peer.

mod support;

use std::time::Duration;

use ringcache_replication::ReplicationHost;
use support::*;

const GROUPS: u32 = 24;

/// Frames and socket writes of all `hosts` together.
fn wire_totals(hosts: &[ReplicationHost<Kv>]) -> (u64, u64) {
    hosts.iter().fold((0, 0), |(frames, writes), host| {
        let counters = host.wire_counters();
        (
            frames + counters.frames_sent(),
            writes + counters.socket_writes(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_of_all_groups_to_a_peer_share_one_write() {
    let hosts = vec![
        start_host("127.0.0.1:0", 0, None).await,
        start_host("127.0.0.1:0", 1, None).await,
        start_host("127.0.0.1:0", 2, None).await,
    ];
    let all: Vec<_> = hosts.iter().collect();
    for group in 1..=GROUPS {
        host_and_bootstrap(&hosts, group).await;
    }
    for group in 1..=GROUPS {
        await_leader(&all, group).await;
    }
    // Let the first replication rounds (membership entries, commit notices) finish: from here
    // on the cluster is idle and sends nothing but heartbeats and their answers.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (frames_before, writes_before) = wire_totals(&hosts);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (frames_after, writes_after) = wire_totals(&hosts);
    let frames = frames_after - frames_before;
    let writes = writes_after - writes_before;

    // Every 50 ms each group's leader sends a heartbeat to 2 followers, which answer: about
    // 40 × 24 × 4 = 3840 frames in 2 s (fewer if the runtime lagged).
    assert!(
        frames >= 1000,
        "only {frames} frames in 2 s: heartbeats are not being sent"
    );
    // Sent one by one, frames ≈ writes. Batched, a write carries the heartbeats of all the
    // groups a host leads to one peer; leaders are spread, so allow a wide margin.
    let frames_per_write = frames as f64 / writes.max(1) as f64;
    assert!(
        frames_per_write >= 4.0,
        "{frames} frames took {writes} socket writes ({frames_per_write:.1} per write): heartbeats are not batched"
    );
    for host in &hosts {
        host.shutdown().await;
    }
}
