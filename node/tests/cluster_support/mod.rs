//! Multi-process cluster tests: [`TestCluster`] runs real `ringcache-node` processes in cluster
//! mode, each on its own loopback address with the default ports (6379 Redis, 16379 cluster bus,
//! 9090 admin API), forms them through the admin API and kills (SIGKILL) / restarts members with
//! their data directory. Every process is killed when the `TestCluster` is dropped, also when the
//! test panics; on a panic the members' logs are printed and their directory is kept.
//!
//! Addresses: `127.A.B.(ordinal + 1)` with `A` derived from the test process id and `B` from a
//! per-process counter, so tests in one binary, and different test binaries, never share an
//! address. A base whose ports are already taken (another process) is skipped.

#![allow(dead_code)]

pub mod load;

/// Certificates for TLS clusters (shared with the single-process TLS tests).
#[path = "../tls_support/mod.rs"]
pub mod tls;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use ringcache_admin::{
    AdminClient, AdminClientError, ClusterSettings, ErrorKind, FormMember, FormRequest,
    MemberStatus, PartitionStatus, Role,
};
pub use ringcache_e2e::faults::FaultNetwork;

/// Redis, cluster bus and admin ports every member uses (the defaults).
pub const REDIS_PORT: u16 = 6379;
pub const BUS_PORT: u16 = 16379;
pub const ADMIN_PORT: u16 = 9090;
/// Member `n`'s fault proxy listens on `127.A.B.(PROXY_OFFSET + n + 1)`.
pub const PROXY_OFFSET: u8 = 100;

/// Generous bound for waits that normally take a second (a loaded 2-core machine).
pub const WAIT: Duration = Duration::from_secs(30);

static NEXT_BASE: AtomicU32 = AtomicU32::new(0);

/// Runs `future`, panicking with `what` if it takes longer than `limit` (so a hung test fails and
/// its cluster is cleaned up instead of hanging the suite).
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: not done within {limit:?}"),
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, panicking after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still not the case after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The slot of a key, as Redis Cluster computes it (CRC16 of the hash tag or the key).
pub fn key_slot(key: &[u8]) -> u16 {
    ringcache_node::store::key_slot(key)
}

/// The partition owning `key` in a cluster of `partitions` partitions.
pub fn partition_of_key(partitions: u32, key: &[u8]) -> u32 {
    ringcache_placement::PartitionCount::new(partitions)
        .expect("valid partition count")
        .partition_of(key_slot(key))
}

/// `count` distinct keys (with `prefix`) that live in `partition`.
pub fn keys_in_partition(
    partitions: u32,
    partition: u32,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    (0..)
        .map(|index| format!("{prefix}-{index}"))
        .filter(|key| partition_of_key(partitions, key.as_bytes()) == partition)
        .take(count)
        .collect()
}

/// One member process.
pub struct Member {
    pub ordinal: u16,
    pub ip: Ipv4Addr,
    /// The address peers and clients are told to use: a fault proxy's, in a cluster with faults.
    pub advertised: Ipv4Addr,
    /// Milliseconds its wall clock is off (applied when it next starts).
    pub clock_offset_ms: i64,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    child: Option<Child>,
}

impl Member {
    /// The process id while it runs (a restart changes it).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|child| child.id())
    }

    pub fn redis_address(&self) -> String {
        format!("{}:{REDIS_PORT}", self.ip)
    }

    pub fn admin_address(&self) -> String {
        format!("{}:{ADMIN_PORT}", self.ip)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

/// A set of member processes (ordinals 0..N-1) on one address base.
/// The cluster secret every test member is started with (`--cluster-secret-file`).
pub const CLUSTER_SECRET: &str = "node-tests-cluster-secret-0123456789abcdef";

pub struct TestCluster {
    base: [u8; 3],
    root: PathBuf,
    pub members: Vec<Member>,
    pub settings: Option<ClusterSettings>,
    /// The fault layer between members, when started with [`TestCluster::start_with_faults`].
    pub faults: Option<FaultNetwork>,
}

impl TestCluster {
    /// Starts `members` processes, forms a cluster of them with `settings` and waits until every
    /// member is ready.
    pub async fn start(members: usize, settings: ClusterSettings) -> TestCluster {
        let mut cluster = TestCluster::spawn(members).await;
        cluster.form(settings).await;
        cluster.wait_ready_all().await;
        cluster
    }

    /// Starts `members` processes without forming a cluster.
    pub async fn spawn(members: usize) -> TestCluster {
        TestCluster::spawn_inner(members, None, None, false).await
    }

    /// Like [`spawn`](Self::spawn), the Redis ports speaking TLS: a CA made for the test signs
    /// one certificate for the addresses of the first 16 members ([`tls_files`](Self::tls_files)).
    pub async fn spawn_with_tls(members: usize) -> TestCluster {
        TestCluster::spawn_inner(members, None, None, true).await
    }

    /// The TLS certificate, key and CA files (a cluster spawned with TLS).
    pub fn tls_files(&self) -> tls::IssuedFiles {
        let directory = self.root.join("tls");
        tls::IssuedFiles {
            cert: directory.join("cert.pem"),
            key: directory.join("key.pem"),
            ca: directory.join("ca.pem"),
        }
    }

    /// Like [`spawn`](Self::spawn), each member with `--requirepass-file` (its own file,
    /// [`password_file`](Self::password_file), holding `password`).
    pub async fn spawn_with_password(members: usize, password: &str) -> TestCluster {
        TestCluster::spawn_inner(members, None, Some(password), false).await
    }

    /// Member `ordinal`'s password file (used when the cluster was spawned with a password).
    pub fn password_file(&self, ordinal: usize) -> PathBuf {
        self.root.join(format!("password-{ordinal}"))
    }

    /// Like [`start`](Self::start), with a fault proxy in front of every member's Redis and
    /// cluster ports ([`FaultNetwork`]): members reach each other only through the proxies.
    pub async fn start_with_faults(members: usize, settings: ClusterSettings) -> TestCluster {
        let mut cluster =
            TestCluster::spawn_inner(members, Some(FaultNetwork::new()), None, false).await;
        cluster.form(settings).await;
        cluster.wait_ready_all().await;
        cluster
    }

    async fn spawn_inner(
        members: usize,
        faults: Option<FaultNetwork>,
        password: Option<&str>,
        tls: bool,
    ) -> TestCluster {
        let base = free_base(members.max(4));
        let root = std::env::temp_dir().join(format!(
            "ringcache-cluster-tests/{}-{}-{}",
            std::process::id(),
            base[1],
            base[2]
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the test directory");
        std::fs::write(root.join("cluster-secret"), format!("{CLUSTER_SECRET}\n"))
            .expect("write the cluster secret");
        let mut cluster = TestCluster {
            base,
            root,
            members: Vec::new(),
            settings: None,
            faults,
        };
        if tls {
            let names: Vec<String> = (1..=16)
                .map(|host| Ipv4Addr::new(base[0], base[1], base[2], host).to_string())
                .collect();
            tls::TestCa::new("cluster test CA").issue(&cluster.root.join("tls"), &names);
        }
        if let Some(password) = password {
            for ordinal in 0..members {
                std::fs::write(cluster.password_file(ordinal), format!("{password}\n"))
                    .expect("write a password file");
            }
        }
        for _ in 0..members {
            cluster.add_member().await;
        }
        cluster
    }

    /// Starts one more member (the next ordinal), not part of the cluster yet. Returns its ordinal.
    pub async fn add_member(&mut self) -> usize {
        let ordinal = self.members.len();
        assert!(ordinal < 250, "too many members");
        let ip = Ipv4Addr::new(self.base[0], self.base[1], self.base[2], ordinal as u8 + 1);
        let advertised = match &self.faults {
            None => ip,
            Some(faults) => {
                let proxy = Ipv4Addr::new(
                    self.base[0],
                    self.base[1],
                    self.base[2],
                    PROXY_OFFSET + ordinal as u8 + 1,
                );
                faults.register(ordinal, ip.into());
                for port in [REDIS_PORT, BUS_PORT] {
                    faults
                        .proxy(ordinal, (proxy, port).into(), (ip, port).into())
                        .await
                        .unwrap_or_else(|error| panic!("fault proxy on {proxy}:{port}: {error}"));
                }
                proxy
            }
        };
        let member = Member {
            ordinal: ordinal as u16,
            ip,
            advertised,
            clock_offset_ms: 0,
            data_dir: self.root.join(format!("member-{ordinal}")),
            log_path: self.root.join(format!("member-{ordinal}.log")),
            child: None,
        };
        self.members.push(member);
        self.launch(ordinal).await;
        ordinal
    }

    /// Runs member `ordinal`'s process (with its data directory) and waits for its admin API.
    async fn launch(&mut self, ordinal: usize) {
        let member = &mut self.members[ordinal];
        assert!(
            member.child.is_none(),
            "member {ordinal} is already running"
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&member.log_path)
            .expect("open the member log");
        let child = Command::new(env!("CARGO_BIN_EXE_ringcache-node"))
            .arg("--cluster-enabled")
            .args(["--bind", &member.ip.to_string()])
            .args(["--ordinal", &ordinal.to_string()])
            .args(["--advertise-host", &member.advertised.to_string()])
            .env(
                ringcache_node::store::CLOCK_OFFSET_VARIABLE,
                member.clock_offset_ms.to_string(),
            )
            .arg("--data-dir")
            .arg(&member.data_dir)
            .arg("--cluster-secret-file")
            .arg(self.root.join("cluster-secret"))
            .args(
                Some(self.root.join("tls"))
                    .filter(|directory| directory.exists())
                    .map(|directory| {
                        [
                            format!("--tls-cert-file={}", directory.join("cert.pem").display()),
                            format!("--tls-key-file={}", directory.join("key.pem").display()),
                            format!("--tls-ca-file={}", directory.join("ca.pem").display()),
                        ]
                    })
                    .into_iter()
                    .flatten(),
            )
            .args(
                Some(self.root.join(format!("password-{ordinal}")))
                    .filter(|path| path.exists())
                    .map(|path| format!("--requirepass-file={}", path.display())),
            )
            .env(
                "RUST_LOG",
                std::env::var("RINGCACHE_TEST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn ringcache-node");
        member.child = Some(child);
        let admin = self.admin(ordinal);
        let deadline = Instant::now() + WAIT;
        loop {
            if admin.status().await.is_ok() {
                return;
            }
            let member = &mut self.members[ordinal];
            if !member.is_running() {
                panic!(
                    "member {ordinal} exited during start-up:\n{}",
                    log_tail(&member.log_path, 40)
                );
            }
            assert!(
                Instant::now() < deadline,
                "member {ordinal}'s admin API did not answer within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Forms the cluster of all current members (through member 0).
    pub async fn form(&mut self, settings: ClusterSettings) {
        let request = FormRequest {
            settings,
            members: self
                .members
                .iter()
                .map(|member| FormMember {
                    ordinal: member.ordinal,
                    admin_address: member.admin_address(),
                })
                .collect(),
        };
        let response = within(WAIT * 2, "formation", self.admin(0).form(&request))
            .await
            .expect("the cluster forms");
        assert_eq!(response.members.len(), self.members.len());
        self.settings = Some(settings);
    }

    pub fn settings(&self) -> ClusterSettings {
        self.settings.expect("the cluster is formed")
    }

    pub fn partitions(&self) -> u32 {
        self.settings().partitions
    }

    /// Waits until member `ordinal` answers ready.
    pub async fn wait_ready(&self, ordinal: usize) {
        let admin = self.admin(ordinal);
        eventually(WAIT, &format!("member {ordinal} ready"), || {
            let admin = admin.clone();
            async move { admin.ready().await.ok().filter(|ready| *ready) }
        })
        .await;
    }

    /// Waits until every running member answers ready.
    pub async fn wait_ready_all(&mut self) {
        for ordinal in 0..self.members.len() {
            if self.members[ordinal].is_running() {
                self.wait_ready(ordinal).await;
            }
        }
    }

    /// `kill -9` member `ordinal` and reaps it.
    pub fn kill(&mut self, ordinal: usize) {
        let member = &mut self.members[ordinal];
        let mut child = member.child.take().expect("the member runs");
        child.kill().expect("SIGKILL the member");
        child.wait().expect("reap the member");
    }

    /// Starts member `ordinal` again with its data directory (as it was left).
    pub async fn restart(&mut self, ordinal: usize) {
        self.launch(ordinal).await;
    }

    /// Pauses member `ordinal` (SIGSTOP): it keeps its sockets but answers nothing.
    pub fn pause(&mut self, ordinal: usize) {
        self.signal(ordinal, "STOP");
    }

    /// Resumes a paused member (SIGCONT).
    pub fn resume(&mut self, ordinal: usize) {
        self.signal(ordinal, "CONT");
    }

    fn signal(&mut self, ordinal: usize, signal: &str) {
        let child = self.members[ordinal]
            .child
            .as_ref()
            .expect("the member runs");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} member {ordinal}");
    }

    /// The fault layer (the cluster must be started with faults).
    pub fn network(&self) -> &FaultNetwork {
        self.faults
            .as_ref()
            .expect("started with start_with_faults")
    }

    /// Deletes member `ordinal`'s data directory (the member must be stopped).
    pub fn wipe(&mut self, ordinal: usize) {
        let member = &self.members[ordinal];
        assert!(member.child.is_none(), "stop member {ordinal} first");
        std::fs::remove_dir_all(&member.data_dir).expect("delete the data directory");
    }

    pub fn is_running(&mut self, ordinal: usize) -> bool {
        self.members[ordinal].is_running()
    }

    pub fn admin(&self, ordinal: usize) -> AdminClient {
        AdminClient::new(self.members[ordinal].admin_address())
            .with_timeout(WAIT * 2)
            .with_credential(Some(CLUSTER_SECRET.to_owned()))
            // A TLS cluster's admin port speaks TLS: called as the operator does, without the
            // CA, the secret bound to the session.
            .with_tls(
                self.root
                    .join("tls")
                    .exists()
                    .then_some(ringcache_admin::AdminTls::SecretBound),
            )
    }

    pub fn redis_address(&self, ordinal: usize) -> String {
        self.members[ordinal].redis_address()
    }

    pub fn ip(&self, ordinal: usize) -> Ipv4Addr {
        self.members[ordinal].ip
    }

    /// A `redis` client of member `ordinal`.
    pub fn redis_client(&self, ordinal: usize) -> redis::Client {
        // With a password file, the member's current password (it may have been rotated).
        let password = std::fs::read_to_string(self.password_file(ordinal))
            .map(|text| format!(":{}@", text.trim_end()))
            .unwrap_or_default();
        redis::Client::open(format!(
            "redis://{password}{}/",
            self.redis_address(ordinal)
        ))
        .expect("url")
    }

    /// A fresh connection (its own TCP connection: READONLY and CLUSTER SLOTS apply to it alone)
    /// to member `ordinal`, with a 10 s response timeout.
    pub async fn redis(&self, ordinal: usize) -> MultiplexedConnection {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(5))
            .set_response_timeout(Duration::from_secs(10));
        within(
            WAIT,
            "redis connect",
            self.redis_client(ordinal)
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .unwrap_or_else(|error| panic!("connect to member {ordinal}: {error}"))
    }

    pub async fn status(&self, ordinal: usize) -> MemberStatus {
        self.admin(ordinal)
            .status()
            .await
            .unwrap_or_else(|error| panic!("status of member {ordinal}: {error}"))
    }

    /// The ordinal of `partition`'s leader, as a running member that leads it reports it.
    pub async fn leader_of(&mut self, partition: u32) -> usize {
        let running: Vec<usize> = (0..self.members.len())
            .filter(|&ordinal| self.members[ordinal].is_running())
            .collect();
        let this = &*self;
        eventually(WAIT, &format!("a leader of partition {partition}"), || {
            let running = running.clone();
            async move {
                for ordinal in running {
                    let Ok(status) = this.admin(ordinal).status().await else {
                        continue;
                    };
                    if hosted(&status, partition).is_some_and(|p| p.role == Role::Leader) {
                        return Some(ordinal);
                    }
                }
                None
            }
        })
        .await
    }

    /// The ordinal of every partition's leader, as the running members that lead them report it
    /// (waits until every partition has one).
    pub async fn leaders(&mut self) -> std::collections::BTreeMap<u32, usize> {
        let running: Vec<usize> = (0..self.members.len())
            .filter(|&ordinal| self.members[ordinal].is_running())
            .collect();
        let partitions = self.partitions();
        let this = &*self;
        eventually(WAIT, "a leader of every partition", || {
            let running = running.clone();
            async move {
                let mut leaders = std::collections::BTreeMap::new();
                for ordinal in running {
                    let Ok(status) = this.admin(ordinal).status().await else {
                        continue;
                    };
                    for partition in &status.partitions {
                        if partition.role == Role::Leader {
                            leaders.insert(partition.partition, ordinal);
                        }
                    }
                }
                (leaders.len() as u32 == partitions).then_some(leaders)
            }
        })
        .await
    }

    /// Runs a partition-level admin operation on `partition`'s leader: starts at member `first`,
    /// follows 421 answers to the leader they name, and retries answers that ask for a retry
    /// (refused, timeout, unavailable) until [`WAIT`] runs out.
    pub async fn on_leader<T, F, Fut>(
        &self,
        partition: u32,
        first: usize,
        what: &str,
        operation: F,
    ) -> T
    where
        F: Fn(AdminClient) -> Fut,
        Fut: Future<Output = Result<T, AdminClientError>>,
    {
        let deadline = Instant::now() + WAIT * 2;
        let mut target = self.admin(first);
        loop {
            let error = match operation(target.clone()).await {
                Ok(value) => return value,
                Err(error) => error,
            };
            assert!(
                Instant::now() < deadline,
                "{what} on partition {partition}: still failing: {error}"
            );
            let kind = error.api_error().map(|body| body.kind);
            match (kind, error.leader()) {
                (Some(ErrorKind::NotLeader), Some(leader)) => {
                    let ordinal = usize::from(leader.ordinal);
                    target = self.admin(ordinal);
                }
                (Some(ErrorKind::NotLeader), None)
                | (Some(ErrorKind::Refused | ErrorKind::Timeout | ErrorKind::Unavailable), _)
                | (None, _) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => panic!("{what} on partition {partition}: {error}"),
            }
        }
    }

    /// The log of member `ordinal` (its last `lines` lines).
    pub fn log_tail(&self, ordinal: usize, lines: usize) -> String {
        log_tail(&self.members[ordinal].log_path, lines)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            for member in &self.members {
                eprintln!(
                    "===== member {} ({}) log, last lines =====\n{}",
                    member.ordinal,
                    member.ip,
                    log_tail(&member.log_path, 60)
                );
            }
            eprintln!("test cluster files kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// This member's view of `partition`, if it hosts it.
pub fn hosted(status: &MemberStatus, partition: u32) -> Option<&PartitionStatus> {
    status
        .partitions
        .iter()
        .find(|hosted| hosted.partition == partition)
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An address base `127.A.B` whose first `members` addresses have all three ports free.
fn free_base(members: usize) -> [u8; 3] {
    let second = 1 + (std::process::id() % 254) as u8;
    for _ in 0..64 {
        let third = (NEXT_BASE.fetch_add(1, Ordering::Relaxed) % 250) as u8 + 1;
        // The members' own addresses and their fault proxies' (see `TestCluster::start_with_faults`).
        let free = (0..members)
            .flat_map(|index| [index as u8 + 1, PROXY_OFFSET + index as u8 + 1])
            .all(|last| {
                let ip = Ipv4Addr::new(127, second, third, last);
                [REDIS_PORT, BUS_PORT, ADMIN_PORT]
                    .iter()
                    .all(|port| std::net::TcpListener::bind(SocketAddr::from((ip, *port))).is_ok())
            });
        if free {
            return [127, second, third];
        }
    }
    panic!("no free loopback address base 127.{second}.x.0 with ports 6379, 16379 and 9090 free");
}

/// How a failed Redis request ended, for a client that must know whether a write took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Definitely not applied: `-TRYAGAIN`, `-CLUSTERDOWN` (retry) or `-MOVED` (go elsewhere).
    NotApplied(String),
    /// May or may not have been applied: "ERR outcome unknown", a timeout, a lost connection.
    Unknown(String),
    /// Any other error (a bug for the requests these tests send).
    Other(String),
}

pub fn classify(error: &redis::RedisError) -> Failure {
    let text = error.to_string();
    match error.code() {
        Some("TRYAGAIN" | "CLUSTERDOWN" | "MOVED") => Failure::NotApplied(text),
        Some("ERR")
            if error
                .detail()
                .is_some_and(|d| d.starts_with("outcome unknown")) =>
        {
            Failure::Unknown(text)
        }
        _ if error.is_io_error() || error.is_timeout() || error.is_connection_dropped() => {
            Failure::Unknown(text)
        }
        _ => Failure::Other(text),
    }
}

/// `SET key value` through `connection`, retrying `-TRYAGAIN` / `-CLUSTERDOWN` and unknown
/// outcomes (a SET is idempotent) until it is acknowledged; panics after `limit`.
pub async fn set_retrying(
    connection: &mut MultiplexedConnection,
    key: &str,
    value: &str,
    limit: Duration,
) {
    let deadline = Instant::now() + limit;
    loop {
        let result: redis::RedisResult<()> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(connection)
            .await;
        let error = match result {
            Ok(()) => return,
            Err(error) => error,
        };
        match classify(&error) {
            Failure::Other(text) => panic!("SET {key}: unexpected error {text}"),
            Failure::NotApplied(text) | Failure::Unknown(text) => assert!(
                Instant::now() < deadline,
                "SET {key}: still failing after {limit:?}: {text}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// One raw HTTP/1.1 request (`Connection: close`) to `address`.
/// An admin call with the test cluster's secret.
pub async fn http(address: &str, method: &str, path: &str, body: &[u8]) -> HttpAnswer {
    let authorization = format!("Bearer {CLUSTER_SECRET}");
    http_as(address, method, path, body, Some(&authorization)).await
}

/// An admin call with `authorization` as the Authorization header (`None`: no header).
pub async fn http_as(
    address: &str,
    method: &str,
    path: &str,
    body: &[u8],
    authorization: Option<&str>,
) -> HttpAnswer {
    let header = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         {header}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let answer = http_raw(address, &request).await;
    parse_http(&answer).unwrap_or_else(|| {
        panic!(
            "{method} {path}: not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer)
        )
    })
}

/// Sends `bytes` to `address` and reads until the peer closes (10 s at most).
pub async fn http_raw(address: &str, bytes: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within(Duration::from_secs(10), "raw HTTP exchange", async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        // The peer may answer and close before reading everything.
        let _ = stream.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        answer
    })
    .await
}

/// Status, content type and (de-chunked) body of an HTTP/1.1 answer.
pub fn parse_http(answer: &[u8]) -> Option<HttpAnswer> {
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_owned(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = answer[split + 4..].to_vec();
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|window| window == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..end]).ok()?.trim(), 16).ok()?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = decoded;
    }
    Some(HttpAnswer {
        status,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `GET key` through `connection`, retrying `-TRYAGAIN` / `-CLUSTERDOWN` (a read that could not
/// be confirmed right now) until it answers; panics after `limit` or on any other error.
pub async fn get_retrying(
    connection: &mut MultiplexedConnection,
    key: &str,
    limit: Duration,
) -> Option<String> {
    let deadline = Instant::now() + limit;
    loop {
        let result: redis::RedisResult<Option<String>> =
            redis::cmd("GET").arg(key).query_async(connection).await;
        let error = match result {
            Ok(value) => return value,
            Err(error) => error,
        };
        match classify(&error) {
            Failure::NotApplied(text) => assert!(
                Instant::now() < deadline,
                "GET {key}: still failing after {limit:?}: {text}"
            ),
            Failure::Unknown(text) | Failure::Other(text) => panic!("GET {key}: {text}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestCluster {
    /// Sets every `(key, value)` through member `ordinal`, over `parallel` connections at once
    /// (each retrying as [`set_retrying`] does).
    pub async fn set_many(&self, ordinal: usize, pairs: &[(String, String)], parallel: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in pairs.chunks(pairs.len().div_ceil(parallel).max(1)) {
            let chunk = chunk.to_vec();
            let mut connection = self.redis(ordinal).await;
            tasks.spawn(async move {
                for (key, value) in &chunk {
                    set_retrying(&mut connection, key, value, WAIT).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(error) = done {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }

    /// `GET`s every key through member `ordinal` over `parallel` connections at once (retrying
    /// as [`get_retrying`] does); `readonly` sends READONLY on each connection first.
    pub async fn get_many(
        &self,
        ordinal: usize,
        keys: &[String],
        parallel: usize,
        readonly: bool,
    ) -> std::collections::BTreeMap<String, Option<String>> {
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in keys.chunks(keys.len().div_ceil(parallel).max(1)) {
            let chunk = chunk.to_vec();
            let mut connection = self.redis(ordinal).await;
            if readonly {
                let () = redis::cmd("READONLY")
                    .query_async(&mut connection)
                    .await
                    .expect("READONLY");
            }
            tasks.spawn(async move {
                let mut values = Vec::new();
                for key in chunk {
                    let value = get_retrying(&mut connection, &key, WAIT).await;
                    values.push((key, value));
                }
                values
            });
        }
        let mut all = std::collections::BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(values) => all.extend(values),
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            }
        }
        all
    }
}

/// Runs `command`, retrying `-TRYAGAIN` / `-CLUSTERDOWN` answers (nothing was applied) for up to
/// [`WAIT`]; any other answer, error or not, is returned.
pub async fn query_retrying<T: redis::FromRedisValue>(
    connection: &mut MultiplexedConnection,
    command: &redis::Cmd,
) -> redis::RedisResult<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        let result = command.query_async(connection).await;
        match &result {
            Err(error)
                if matches!(error.code(), Some("TRYAGAIN" | "CLUSTERDOWN"))
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => return result,
        }
    }
}
