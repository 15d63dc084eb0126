//! Shared pieces of the replication tests: a toy key-value state machine and helpers that run
//! several hosts in one process, each on its own 127.0.0.1 listener.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use ringcache_replication::{
    AdminError, Durability, GroupId, ProposeError, RaftNodeId, ReadError, ReplicationConfig,
    ReplicationHost, RestoreError, Role, SNAPSHOT_CHUNK_TARGET, SnapshotError, StateMachine,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// A write to the toy store: set (or, with `None`, delete) a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Set {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// The toy state machine: an ordered map.
#[derive(Debug, Default)]
pub struct Kv {
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Keys per snapshot chunk of the toy store: small, so that even small tests send several chunks.
pub const KV_CHUNK_KEYS: usize = 16;

/// A chunk of the toy store's snapshot: key/value pairs in key order.
type KvChunk = Vec<(Vec<u8>, Vec<u8>)>;

/// The toy store's snapshot: a copy of the map, cut into chunks of at most [`KV_CHUNK_KEYS`] keys
/// or about [`SNAPSHOT_CHUNK_TARGET`] bytes when encoded.
pub struct KvSnapshot {
    entries: std::collections::btree_map::IntoIter<Vec<u8>, Vec<u8>>,
}

impl Iterator for KvSnapshot {
    type Item = Result<Vec<u8>, SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut chunk: KvChunk = Vec::new();
        let mut bytes = 0;
        while chunk.len() < KV_CHUNK_KEYS && bytes < SNAPSHOT_CHUNK_TARGET {
            let Some((key, value)) = self.entries.next() else {
                break;
            };
            bytes += key.len() + value.len();
            chunk.push((key, value));
        }
        if chunk.is_empty() {
            return None;
        }
        Some(bincode::serialize(&chunk).map_err(|error| SnapshotError(error.to_string())))
    }
}

fn decode_kv_chunk(chunk: &[u8]) -> Result<KvChunk, RestoreError> {
    bincode::deserialize(chunk).map_err(|error| RestoreError(error.to_string()))
}

impl StateMachine for Kv {
    type Command = Set;
    type Response = Option<Vec<u8>>;
    type SnapshotChunks = KvSnapshot;

    fn apply(&mut self, command: &Set) -> Option<Vec<u8>> {
        match &command.value {
            Some(value) => self.map.insert(command.key.clone(), value.clone()),
            None => self.map.remove(&command.key),
        }
    }

    fn snapshot(&self) -> Result<KvSnapshot, SnapshotError> {
        Ok(KvSnapshot {
            entries: self.map.clone().into_iter(),
        })
    }

    fn check_chunk(&self, chunk: &[u8]) -> Result<(), RestoreError> {
        decode_kv_chunk(chunk).map(drop)
    }

    fn restore(
        &mut self,
        chunks: &mut dyn Iterator<Item = Result<Vec<u8>, RestoreError>>,
    ) -> Result<(), RestoreError> {
        self.map.clear();
        for chunk in chunks {
            self.map.extend(decode_kv_chunk(&chunk?)?);
        }
        Ok(())
    }
}

/// Generous: the machine has 2 cores shared with other builds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Settings for tests: short timeouts, frequent snapshots (so catching up exercises them).
pub fn test_config(data_dir: Option<&Path>) -> ReplicationConfig {
    let durability = match data_dir {
        Some(path) => Durability::Directory {
            path: path.to_path_buf(),
            fsync: false,
        },
        None => Durability::InMemory,
    };
    let mut config = ReplicationConfig::new(durability);
    config.heartbeat_interval = Duration::from_millis(50);
    config.election_timeout = (Duration::from_millis(400), Duration::from_millis(800));
    config.rpc_timeout = Duration::from_millis(1000);
    config.propose_timeout = Duration::from_secs(3);
    config.read_timeout = Duration::from_secs(3);
    config.admin_timeout = Duration::from_secs(20);
    config.snapshot_every_entries = 100;
    // Every replication test runs with authenticated cluster connections, as members do.
    config.cluster_secret = Some(ringcache_replication::ClusterSecret::new(TEST_SECRET));
    config
}

/// The cluster secret of [`test_config`].
pub const TEST_SECRET: &[u8] = b"replication-tests-cluster-secret-0123456789";

/// Starts a host on `address` (`127.0.0.1:0` for a fresh port). Rebinding a port just released
/// by a stopped host can fail briefly, so it is retried.
pub async fn start_host(
    address: &str,
    ordinal: u16,
    data_dir: Option<&Path>,
) -> ReplicationHost<Kv> {
    start_host_with(address, ordinal, test_config(data_dir)).await
}

/// [`start_host`] with settings of the caller's choosing.
pub async fn start_host_with(
    address: &str,
    ordinal: u16,
    config: ReplicationConfig,
) -> ReplicationHost<Kv> {
    let deadline = Instant::now() + PATIENCE;
    let listener = loop {
        match TcpListener::bind(address).await {
            Ok(listener) => break listener,
            Err(error) if Instant::now() < deadline => {
                eprintln!("bind {address}: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot bind {address}: {error}"),
        }
    };
    let address = listener.local_addr().expect("local address").to_string();
    ReplicationHost::start(listener, address, ordinal, config, |_| Kv::default())
        .await
        .expect("start host")
}

/// Three hosts, each with its own data directory, all hosting `group`, bootstrapped by the first.
/// The directories are returned so they outlive the hosts (and can be reused on restart).
pub async fn start_three_on_disk(
    group: GroupId,
) -> (Vec<tempfile::TempDir>, Vec<ReplicationHost<Kv>>) {
    let directories: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("temporary directory"))
        .collect();
    let mut hosts = Vec::new();
    for (ordinal, directory) in directories.iter().enumerate() {
        hosts.push(start_host("127.0.0.1:0", ordinal as u16, Some(directory.path())).await);
    }
    host_and_bootstrap(&hosts, group).await;
    (directories, hosts)
}

/// Every host hosts `group`; the first bootstraps it with all of them as voters.
pub async fn host_and_bootstrap(hosts: &[ReplicationHost<Kv>], group: GroupId) {
    let all: Vec<_> = hosts.iter().collect();
    for host in hosts {
        host.host_group(group).await.expect("host group");
    }
    hosts[0]
        .bootstrap_group(group, voters(&all))
        .await
        .expect("bootstrap");
}

/// Voter map of `hosts` for bootstrapping.
pub fn voters(hosts: &[&ReplicationHost<Kv>]) -> BTreeMap<RaftNodeId, String> {
    hosts
        .iter()
        .map(|host| (host.id(), host.address().to_owned()))
        .collect()
}

/// Polls `condition` until it holds or `PATIENCE` runs out; returns whether it held.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

/// The host leading `group`, if one of `hosts` says it does.
pub fn leader<'a>(
    hosts: &[&'a ReplicationHost<Kv>],
    group: GroupId,
) -> Option<&'a ReplicationHost<Kv>> {
    hosts.iter().copied().find(|host| {
        host.status(group)
            .is_some_and(|status| status.role == Role::Leader)
    })
}

/// Waits for a leader of `group` among `hosts`.
pub async fn await_leader<'a>(
    hosts: &[&'a ReplicationHost<Kv>],
    group: GroupId,
) -> &'a ReplicationHost<Kv> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(host) = leader(hosts, group) {
            return host;
        }
        assert!(Instant::now() < deadline, "no leader for group {group}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A follower that was stopped: where it was in the list of hosts, and who it was.
pub struct StoppedFollower {
    pub position: usize,
    pub id: RaftNodeId,
    pub address: String,
}

/// Shuts down one host that does not lead `group` and takes it out of `hosts`, so it can be
/// restarted in its place (same ordinal as its position, same address).
pub async fn stop_a_follower(
    hosts: &mut Vec<ReplicationHost<Kv>>,
    group: GroupId,
) -> StoppedFollower {
    let leader_id = await_leader(&hosts.iter().collect::<Vec<_>>(), group)
        .await
        .id();
    let position = hosts
        .iter()
        .position(|host| host.id() != leader_id)
        .expect("a follower");
    let stopped = hosts.remove(position);
    let (id, address) = (stopped.id(), stopped.address().to_owned());
    stopped.shutdown().await;
    StoppedFollower {
        position,
        id,
        address,
    }
}

/// Proposes on whichever host leads, retrying only errors that certainly did not apply.
pub async fn write(
    hosts: &[&ReplicationHost<Kv>],
    group: GroupId,
    key: &str,
    value: &str,
) -> Result<(), ProposeError> {
    let command = Set {
        key: key.as_bytes().to_vec(),
        value: Some(value.as_bytes().to_vec()),
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let host = await_leader(hosts, group).await;
        match host.propose(group, &command).await {
            Ok(_) => return Ok(()),
            Err(error) if error.definitely_not_applied() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// A linearizable read on whichever host leads, retrying until it succeeds.
pub async fn read(hosts: &[&ReplicationHost<Kv>], group: GroupId, key: &str) -> Option<String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let host = await_leader(hosts, group).await;
        match host.linearizable_read(group).await {
            Ok(()) => {
                return host
                    .read_local(group, |kv| kv.map.get(key.as_bytes()).cloned())
                    .expect("hosted")
                    .map(|value| String::from_utf8_lossy(&value).into_owned());
            }
            Err(error @ (ReadError::NotLeader { .. } | ReadError::Unavailable { .. }))
                if Instant::now() < deadline =>
            {
                eprintln!("read retry: {error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("read failed: {error}"),
        }
    }
}

/// Runs an admin step on the leader, following `NotLeader` and retrying timeouts.
pub async fn admin<F, Fut>(hosts: &[&ReplicationHost<Kv>], group: GroupId, step: F)
where
    F: Fn(ReplicationHost<Kv>) -> Fut,
    Fut: Future<Output = Result<(), AdminError>>,
{
    let deadline = Instant::now() + PATIENCE * 2;
    loop {
        let host = await_leader(hosts, group).await.clone();
        match step(host).await {
            Ok(()) => return,
            Err(error) if Instant::now() < deadline => {
                eprintln!("admin retry: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("admin step failed: {error}"),
        }
    }
}

/// The voter ids of `group` as `host` sees them.
pub fn voter_ids(host: &ReplicationHost<Kv>, group: GroupId) -> BTreeSet<RaftNodeId> {
    host.status(group)
        .map(|status| status.voters.keys().copied().collect())
        .unwrap_or_default()
}

/// Waits until every host in `hosts` has applied as far as the first one's commit index and
/// all hold the same map; returns that map.
pub async fn converged(
    hosts: &[&ReplicationHost<Kv>],
    group: GroupId,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let settled = eventually(|| {
        let maps: Vec<_> = hosts
            .iter()
            .map(|host| host.read_local(group, |kv| kv.map.clone()))
            .collect();
        let applied: BTreeSet<_> = hosts
            .iter()
            .map(|host| host.status(group).and_then(|status| status.applied_index))
            .collect();
        applied.len() == 1 && maps.windows(2).all(|pair| pair[0] == pair[1])
    })
    .await;
    assert!(settled, "replicas of group {group} did not converge");
    hosts[0]
        .read_local(group, |kv| kv.map.clone())
        .expect("hosted")
}
