//! [`ProcessCluster`]: real `ringcache-node` processes on loopback addresses `127.A.B.(n+1)`, each
//! behind a fault proxy on `127.A.B.(101+n)` that its peers use (see [`crate::faults`]), with the
//! process faults the nemesis needs: kill, restart, pause, and a torn last log record.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ringcache_admin::{AdminClient, ClusterSettings, FormMember, FormRequest, Role};

use super::ChaosError;
use crate::faults::FaultNetwork;

pub const REDIS_PORT: u16 = 6379;
pub const BUS_PORT: u16 = 16379;
pub const ADMIN_PORT: u16 = 9090;
/// Member `n`'s proxy listens on `127.A.B.(PROXY_OFFSET + n + 1)`.
const PROXY_OFFSET: u8 = 100;
const START_WAIT: Duration = Duration::from_secs(30);
/// `ringcache_node::store::CLOCK_OFFSET_VARIABLE` (this crate does not link the node).
const CLOCK_OFFSET_VARIABLE: &str = "RINGCACHE_TEST_CLOCK_OFFSET_MS";

struct Member {
    ip: Ipv4Addr,
    proxy: Ipv4Addr,
    data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    /// Milliseconds its wall clock is off (applied when it next starts).
    clock_offset_ms: i64,
}

/// The members and the fault layer between them.
pub struct ProcessCluster {
    node_binary: PathBuf,
    root: PathBuf,
    members: Vec<Member>,
    pub network: FaultNetwork,
    settings: ClusterSettings,
    /// The cluster secret (fresh per run), in `root/cluster-secret` for the members.
    secret: String,
}

impl ProcessCluster {
    /// Starts `count` members under `root` (emptied first), forms them and waits until every
    /// member is ready.
    pub async fn start(
        node_binary: &Path,
        root: &Path,
        count: usize,
        settings: ClusterSettings,
    ) -> Result<ProcessCluster, ChaosError> {
        if !node_binary.is_file() {
            return Err(ChaosError::NodeBinary(node_binary.to_path_buf()));
        }
        let _ = std::fs::remove_dir_all(root);
        std::fs::create_dir_all(root).map_err(|source| ChaosError::Directory {
            path: root.to_path_buf(),
            source,
        })?;
        // A fresh secret per run, as the operator derives one per cluster.
        let nonce = format!(
            "{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
        );
        let secret = ringcache_admin::derive_cluster_secret(b"ringcache-chaos", "", "", &nonce);
        let secret_path = root.join("cluster-secret");
        std::fs::write(&secret_path, &secret).map_err(|source| ChaosError::Directory {
            path: secret_path,
            source,
        })?;
        let base = free_base(count)?;
        let network = FaultNetwork::new();
        let mut members = Vec::new();
        for ordinal in 0..count {
            let ip = Ipv4Addr::new(base[0], base[1], base[2], ordinal as u8 + 1);
            let proxy = Ipv4Addr::new(base[0], base[1], base[2], PROXY_OFFSET + ordinal as u8 + 1);
            network.register(ordinal, ip.into());
            for port in [REDIS_PORT, BUS_PORT] {
                network
                    .proxy(ordinal, (proxy, port).into(), (ip, port).into())
                    .await
                    .map_err(|source| ChaosError::Proxy {
                        address: SocketAddr::from((proxy, port)),
                        source,
                    })?;
            }
            members.push(Member {
                ip,
                proxy,
                data_dir: root.join(format!("member-{ordinal}")),
                log_path: root.join(format!("member-{ordinal}.log")),
                child: None,
                clock_offset_ms: 0,
            });
        }
        let mut cluster = ProcessCluster {
            node_binary: node_binary.to_path_buf(),
            root: root.to_path_buf(),
            members,
            network,
            settings,
            secret,
        };
        for ordinal in 0..count {
            cluster.launch(ordinal).await?;
        }
        let request = FormRequest {
            settings,
            members: (0..count)
                .map(|ordinal| FormMember {
                    ordinal: ordinal as u16,
                    admin_address: cluster.admin_address(ordinal),
                })
                .collect(),
        };
        cluster
            .admin(0)
            .form(&request)
            .await
            .map_err(|error| ChaosError::Formation(error.to_string()))?;
        for ordinal in 0..count {
            cluster.wait_ready(ordinal, START_WAIT).await?;
        }
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn settings(&self) -> ClusterSettings {
        self.settings
    }

    /// Where the files are: data directories and member logs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Member `ordinal`'s Redis port, directly (clients are never faulted).
    pub fn redis_address(&self, ordinal: usize) -> String {
        format!("{}:{REDIS_PORT}", self.members[ordinal].ip)
    }

    pub fn admin_address(&self, ordinal: usize) -> String {
        format!("{}:{ADMIN_PORT}", self.members[ordinal].ip)
    }

    pub fn admin(&self, ordinal: usize) -> AdminClient {
        AdminClient::new(self.admin_address(ordinal))
            .with_timeout(Duration::from_secs(5))
            .with_credential(Some(self.secret.clone()))
    }

    /// Member `ordinal`'s log file.
    pub fn log_path(&self, ordinal: usize) -> &Path {
        &self.members[ordinal].log_path
    }

    async fn launch(&mut self, ordinal: usize) -> Result<(), ChaosError> {
        let member = &mut self.members[ordinal];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&member.log_path)
            .map_err(|source| ChaosError::Directory {
                path: member.log_path.clone(),
                source,
            })?;
        let stderr = log.try_clone().map_err(|source| ChaosError::Directory {
            path: member.log_path.clone(),
            source,
        })?;
        let child = Command::new(&self.node_binary)
            .arg("--cluster-enabled")
            .args(["--bind", &member.ip.to_string()])
            .args(["--advertise-host", &member.proxy.to_string()])
            .args(["--ordinal", &ordinal.to_string()])
            .arg("--data-dir")
            .arg(&member.data_dir)
            .args(["--threads", "1"])
            .arg("--cluster-secret-file")
            .arg(self.root.join("cluster-secret"))
            .env(CLOCK_OFFSET_VARIABLE, member.clock_offset_ms.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|source| ChaosError::Spawn { ordinal, source })?;
        member.child = Some(child);
        let admin = self.admin(ordinal);
        let deadline = Instant::now() + START_WAIT;
        while admin.status().await.is_err() {
            if !self.is_running(ordinal) {
                return Err(ChaosError::Exited { ordinal });
            }
            if Instant::now() >= deadline {
                return Err(ChaosError::NotReady { ordinal });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    pub fn is_running(&mut self, ordinal: usize) -> bool {
        self.members[ordinal]
            .child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Waits until member `ordinal` answers ready.
    pub async fn wait_ready(&self, ordinal: usize, limit: Duration) -> Result<(), ChaosError> {
        let deadline = Instant::now() + limit;
        loop {
            if self.admin(ordinal).ready().await.unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ChaosError::NotReady { ordinal });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, ordinal: usize) {
        if let Some(mut child) = self.members[ordinal].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `ordinal` again with its data directory.
    pub async fn restart(&mut self, ordinal: usize) -> Result<(), ChaosError> {
        self.kill(ordinal);
        self.launch(ordinal).await
    }

    /// Restarts member `ordinal` with its wall clock `offset_ms` milliseconds off.
    pub async fn restart_with_clock(
        &mut self,
        ordinal: usize,
        offset_ms: i64,
    ) -> Result<(), ChaosError> {
        self.members[ordinal].clock_offset_ms = offset_ms;
        self.restart(ordinal).await
    }

    /// Milliseconds member `ordinal`'s wall clock is off.
    pub fn clock_offset(&self, ordinal: usize) -> i64 {
        self.members[ordinal].clock_offset_ms
    }

    /// SIGSTOP.
    pub fn pause(&mut self, ordinal: usize) {
        self.signal(ordinal, "STOP");
    }

    /// SIGCONT.
    pub fn resume(&mut self, ordinal: usize) {
        self.signal(ordinal, "CONT");
    }

    fn signal(&mut self, ordinal: usize, signal: &str) {
        if let Some(child) = &self.members[ordinal].child {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status();
        }
    }

    /// Appends the start of a record that never finished (a header announcing more bytes than
    /// follow) to the log of one partition member `ordinal` hosts. The member must be stopped.
    /// Returns the partition, or `None` if it hosts none.
    pub fn tear_log_tail(&self, ordinal: usize, pick: u64) -> Option<u32> {
        let groups = self.members[ordinal].data_dir.join("groups");
        let mut hosted: Vec<u32> = std::fs::read_dir(&groups)
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        hosted.sort_unstable();
        let partition = *hosted.get((pick % hosted.len().max(1) as u64) as usize)?;
        let log = groups.join(partition.to_string()).join("log");
        let mut file = std::fs::OpenOptions::new().append(true).open(log).ok()?;
        let mut torn = 4096u32.to_le_bytes().to_vec();
        torn.extend_from_slice(&[0x5A; 4 + 100]);
        std::io::Write::write_all(&mut file, &torn).ok()?;
        Some(partition)
    }

    /// The leader of each partition, as the members report it (partitions without a known
    /// leader are missing).
    pub async fn leaders(&self) -> BTreeMap<u32, usize> {
        let mut leaders = BTreeMap::new();
        for ordinal in 0..self.members.len() {
            let Ok(status) = self.admin(ordinal).status().await else {
                continue;
            };
            for partition in status.partitions {
                if partition.role == Role::Leader {
                    leaders.insert(partition.partition, ordinal);
                }
            }
        }
        leaders
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        for ordinal in 0..self.members.len() {
            self.resume(ordinal);
            self.kill(ordinal);
        }
    }
}

/// An address base `127.A.B` whose member and proxy addresses have the three ports free.
fn free_base(count: usize) -> Result<[u8; 3], ChaosError> {
    let second = 200 + (std::process::id() % 50) as u8;
    for third in 1..=250u8 {
        let free = (0..count as u8)
            .flat_map(|index| [index + 1, PROXY_OFFSET + index + 1])
            .all(|last| {
                let ip = Ipv4Addr::new(127, second, third, last);
                [REDIS_PORT, BUS_PORT, ADMIN_PORT]
                    .iter()
                    .all(|port| std::net::TcpListener::bind(SocketAddr::from((ip, *port))).is_ok())
            });
        if free {
            return Ok([127, second, third]);
        }
    }
    Err(ChaosError::NoAddresses)
}
