//! Leader leases and restarts: a follower that restarts must not help elect a new leader while
//! the old one may still serve reads on a lease that follower's earlier acknowledgement gave it.
//! The hosts reach each other through fault proxies (`ringcache_e2e::faults`), so single links
//! can be cut.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use ringcache_e2e::faults::FaultNetwork;
use ringcache_replication::{GroupId, ReadPolicy, ReplicationHost, Role};
use support::*;
use tokio::net::TcpListener;

const GROUP: GroupId = 0;

/// Where host `ordinal` listens and where its proxy listens (the address its peers use).
fn addresses(ordinal: usize) -> (Ipv4Addr, Ipv4Addr) {
    let block = (std::process::id() % 250) as u8 + 1;
    (
        Ipv4Addr::new(127, 99, block, ordinal as u8 + 1),
        Ipv4Addr::new(127, 99, block, ordinal as u8 + 101),
    )
}

/// Starts host `ordinal` on `port` (0: any, on the first start, which also makes its proxy; a
/// restart passes the port it had and keeps the proxy).
async fn start_behind_proxy(
    network: &FaultNetwork,
    ordinal: usize,
    port: u16,
    directory: &Path,
) -> ReplicationHost<Kv> {
    let (ip, proxy_ip) = addresses(ordinal);
    let deadline = Instant::now() + PATIENCE;
    let listener = loop {
        match TcpListener::bind((ip, port)).await {
            Ok(listener) => break listener,
            Err(error) => {
                assert!(Instant::now() < deadline, "bind {ip}:{port}: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let first_start = port == 0;
    let port = listener.local_addr().expect("bound").port();
    if first_start {
        network.register(ordinal, ip.into());
        network
            .proxy(
                ordinal,
                SocketAddr::from((proxy_ip, port)),
                SocketAddr::from((ip, port)),
            )
            .await
            .expect("proxy");
    }
    let mut config = test_config(Some(directory));
    config.read_policy = ReadPolicy::LeaderLease;
    ReplicationHost::start(
        listener,
        format!("{proxy_ip}:{port}"),
        ordinal as u16,
        config,
        |_| Kv::default(),
    )
    .await
    .expect("start host")
}

fn leads(host: &ReplicationHost<Kv>) -> bool {
    host.status(GROUP)
        .is_some_and(|status| status.role == Role::Leader)
}

async fn read_on(host: &ReplicationHost<Kv>, key: &str) -> Option<Option<String>> {
    host.linearizable_read(GROUP).await.ok()?;
    Some(
        host.read_local(GROUP, |kv| kv.map.get(key.as_bytes()).cloned())
            .expect("hosted")
            .map(|value| String::from_utf8_lossy(&value).into_owned()),
    )
}

/// A (leader), B and C. C is cut off from A and campaigns; B refuses it while it hears A. Then
/// B stops hearing A and restarts: A's lease still rests on B's last acknowledgement. B must
/// not vote for C until that lease has run out (it withholds votes for an election timeout after
/// it starts), so the write C then commits can never be missed by a read A serves on its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_follower_votes_for_no_one_while_the_old_leader_may_hold_a_lease() {
    let network = FaultNetwork::new();
    let directories: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("temporary directory"))
        .collect();
    let mut hosts = Vec::new();
    for (ordinal, directory) in directories.iter().enumerate() {
        hosts.push(start_behind_proxy(&network, ordinal, 0, directory.path()).await);
    }
    host_and_bootstrap(&hosts, GROUP).await;
    let election_max = test_config(None).election_timeout.1;
    let (a, b, c) = (0, 1, 2);
    for attempt in 0..3 {
        // A leads.
        let all: Vec<&ReplicationHost<Kv>> = hosts.iter().collect();
        let leader = await_leader(&all, GROUP).await;
        if leader.id() != hosts[a].id() {
            leader
                .transfer_leadership(GROUP, hosts[a].id())
                .await
                .expect("hand leadership to A");
        }
        assert!(eventually(|| leads(&hosts[a])).await, "A leads");
        let before = format!("before-{attempt}");
        let after = format!("after-{attempt}");
        write(&[&hosts[a]], GROUP, "k", &before)
            .await
            .expect("write on A");
        assert_eq!(read_on(&hosts[a], "k").await, Some(Some(before.clone())));

        // C cannot hear A and campaigns; B, hearing A, refuses it.
        network.cut(a, c);
        tokio::time::sleep(election_max * 2).await;
        assert!(
            leads(&hosts[a]) && !leads(&hosts[c]),
            "C is refused while B hears A"
        );

        // B stops hearing A, and restarts.
        network.cut_one_way(a, b);
        let port: u16 = hosts[b]
            .address()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("a port");
        hosts[b].shutdown().await;
        let restarted_at = Instant::now();
        hosts[b] = start_behind_proxy(&network, b, port, directories[b].path()).await;
        hosts[b].host_group(GROUP).await.expect("resume the group");

        // A new leader (C, or B with C's vote) needs B's vote or campaign, so it comes only
        // after an election timeout, when A's lease (0.8 of it, from a heartbeat sent before
        // the restart) is over.
        let (b_host, c_host) = (&hosts[b], &hosts[c]);
        assert!(
            eventually(|| leads(b_host) || leads(c_host)).await,
            "a new leader is elected in the end"
        );
        let elected_after = restarted_at.elapsed();
        assert!(
            elected_after >= election_max,
            "attempt {attempt}: a new leader was elected {elected_after:?} after B restarted, \
             inside the lease A may still hold on B's last acknowledgement"
        );
        eprintln!("attempt {attempt}: new leader after {elected_after:?}");
        write(&[b_host, c_host], GROUP, "k", &after)
            .await
            .expect("the new leader commits");
        // A, cut off, must not serve the value the new leader overwrote.
        let stale = read_on(&hosts[a], "k").await;
        assert_ne!(
            stale,
            Some(Some(before.clone())),
            "attempt {attempt}: A served a stale read"
        );

        network.heal();
        // Settle before the next attempt: connections dialed across the cut failed their
        // handshake (as a real partition fails the connect), and the peers retry after
        // openraft's back-off.
        tokio::time::sleep(election_max * 2).await;
    }
    for host in &hosts {
        host.shutdown().await;
    }
}
