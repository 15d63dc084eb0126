//! Cluster mode: this node as one member of a Raft-replicated, slot-sharded cluster.
//!
//! ```text
//!  client ─► connection ─► executor ─► dispatch.rs: keys → slot → partition → who leads it?
//!                              │ this node leads           │ another member leads
//!                              ▼                           ▼
//!      reads: confirm leadership (lease/ReadIndex)   cluster-aware client: -MOVED slot host:port
//!             then Read::run on the shared keyspace  plain client: forward.rs sends it there
//!      writes (propose.rs): PartitionCommand::Write { now_ms, write } ─► Raft log ─► every
//!              replica's PartitionMachine (machine.rs) applies Write::apply to the shared
//!              keyspace; the proposer renders the returned Frame; blocking pops propose only
//!              once there is something to pop
//! ```
//!
//! [`Cluster`] owns the [`ReplicationHost`] (all partition groups of this process), the cluster
//! settings (persisted in `--data-dir/cluster.json` once the member joins), the seed peers the
//! last join named (`--data-dir/seeds.json`, see [`seeds`]), and what is known of partitions
//! hosted elsewhere ([`routes::RouteTable`]). The admin API (`crate::admin`) drives formation and
//! replica moves through it.

pub mod commands;
pub mod dispatch;
pub mod dropping;
pub mod expiry;
pub mod formation;
pub mod forward;
pub mod frame;
pub mod leadership;
pub mod machine;
pub mod partition_snapshot;
mod propose;
pub mod pubsub;
pub mod readiness;
pub mod relay;
pub mod routes;
mod script;
pub mod seeds;
mod transaction;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use ringcache_admin::{
    ClusterSettings, ErrorBody, ErrorKind, JoinRequest, LeaveResponse, MemberStatus,
    PartitionStatus, Replica, ReplicaProgress, Role,
};
use ringcache_placement::PartitionCount;
use ringcache_replication::{
    AdminError, Durability, GroupStatus, LeaderView, RaftNodeId, ReplicationConfig,
    ReplicationHost, StartError,
};
use tokio::net::TcpListener;

use crate::shared::Shared;
use crate::store::SlotUsage;
use machine::PartitionMachine;

/// File in the data directory remembering the cluster settings once the member joined.
pub const SETTINGS_FILE: &str = "cluster.json";
/// File in the data directory remembering the seed peers of the last join (a hint: the operator
/// sends them again on every reconcile).
pub const SEEDS_FILE: &str = "seeds.json";
/// Bound on the pre-stop leadership hand-off.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(30);

pub use crate::config::ClusterOptions;

/// Why cluster mode could not start or change.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot read {path}: {source}")]
    ReadSettings {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid cluster settings: {detail}")]
    BadSettings { path: PathBuf, detail: String },
    #[error("cannot write {path}: {source}")]
    WriteSettings {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list the partitions in {path}: {source}")]
    ListGroups {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the replication host: {0}")]
    Start(#[from] StartError),
}

/// Counters for `/metrics` (fixed label sets; see `crate::admin::metrics`).
#[derive(Debug, Default)]
pub struct ClusterCounters {
    pub proposals_committed: AtomicU64,
    pub proposals_not_leader: AtomicU64,
    pub proposals_unknown: AtomicU64,
    pub reads_local: AtomicU64,
    pub reads_stale: AtomicU64,
    pub forwarded: AtomicU64,
    pub forward_failures: AtomicU64,
    pub moved: AtomicU64,
    pub crossslot: AtomicU64,
    pub moves_add_learner: AtomicU64,
    pub moves_promote: AtomicU64,
    pub moves_transfer_leadership: AtomicU64,
    pub moves_remove_replica: AtomicU64,
    pub expired_proposed: AtomicU64,
}

/// Where a partition's requests go, from this member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This member leads it.
    Local,
    /// Another member leads it.
    Remote(Replica),
    /// No leader known right now.
    Unknown,
}

/// An admin operation's failure, as the admin API answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", body.message)]
pub struct AdminFailure {
    pub body: ErrorBody,
}

impl AdminFailure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AdminFailure {
            body: ErrorBody {
                kind,
                message: message.into(),
                leader: None,
            },
        }
    }

    fn from_admin(partition: u32, operation: &str, error: AdminError) -> Self {
        let message = format!("{operation} on partition {partition}: {error}");
        match error {
            AdminError::NotLeader { leader } => AdminFailure {
                body: ErrorBody {
                    kind: ErrorKind::NotLeader,
                    message: format!("{message}; send it to the leader"),
                    leader: leader.map(|(id, address)| replica(id, address)),
                },
            },
            AdminError::GroupNotHosted(_) => AdminFailure::new(ErrorKind::NotHosted, message),
            AdminError::ShuttingDown => AdminFailure::new(ErrorKind::Unavailable, message),
            AdminError::Timeout { .. } => AdminFailure::new(ErrorKind::Timeout, message),
            AdminError::UnknownNode(_) | AdminError::RemovingLeader(_) => {
                AdminFailure::new(ErrorKind::BadRequest, message)
            }
            AdminError::Refused(_) => AdminFailure::new(ErrorKind::Refused, message),
        }
    }
}

/// A Raft id and address as the admin API shows them.
pub fn replica(id: RaftNodeId, address: String) -> Replica {
    Replica {
        id: id.as_u64(),
        ordinal: id.ordinal(),
        address,
    }
}

/// A leader without a client address (not learnt yet) can be neither named in `-MOVED` (a client
/// cannot parse `MOVED <slot> ` without one) nor forwarded to: wait for it as for an election.
fn known_address(route: Route) -> Route {
    match route {
        Route::Remote(leader) if leader.client_address().is_empty() => Route::Unknown,
        route => route,
    }
}

/// This process as a cluster member.
pub struct Cluster {
    host: ReplicationHost<PartitionMachine>,
    member: Replica,
    settings: RwLock<Option<ClusterSettings>>,
    /// Other members to ask for routes besides those the hosted groups name (see [`seeds`]).
    seeds: RwLock<BTreeSet<Replica>>,
    partitions: Arc<OnceLock<PartitionCount>>,
    data_dir: PathBuf,
    pub routes: routes::RouteTable,
    pub counters: ClusterCounters,
    started: Instant,
    /// Weak: the shared state owns this cluster.
    shared: Weak<Shared>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Cluster")
            .field("member", &self.member)
            .field("settings", &self.settings())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Starts the member: its Raft identity, the cluster port on `cluster_listener`, and every
    /// partition found in the data directory (a restart resumes them).
    pub async fn start(
        shared: &Arc<Shared>,
        options: ClusterOptions,
        cluster_listener: TcpListener,
    ) -> Result<Arc<Cluster>, ClusterError> {
        let address = format!(
            "{}:{}@{}",
            options.advertise_host, options.client_port, options.cluster_port
        );
        let mut config = ReplicationConfig::new(Durability::Directory {
            path: options.data_dir.clone(),
            fsync: options.fsync,
        });
        config.read_policy = options.read_policy;
        config.max_command_len = options.max_write_size;
        config.cluster_secret = options.cluster_secret.clone();
        config.cluster_tls = options.cluster_tls.clone();
        let partitions: Arc<OnceLock<PartitionCount>> = Arc::new(OnceLock::new());
        let machine_partitions = partitions.clone();
        let weak_shared = Arc::downgrade(shared);
        let host = ReplicationHost::start(
            cluster_listener,
            address.clone(),
            options.ordinal,
            config,
            move |group| {
                let count = machine_partitions
                    .get()
                    .copied()
                    .unwrap_or(PartitionCount::default());
                PartitionMachine::new(group, count, weak_shared.clone())
            },
        )
        .await?;
        let member = replica(host.id(), address);
        let cluster = Arc::new(Cluster {
            host,
            member,
            settings: RwLock::new(None),
            seeds: RwLock::new(BTreeSet::new()),
            partitions,
            data_dir: options.data_dir.clone(),
            routes: routes::RouteTable::default(),
            counters: ClusterCounters::default(),
            started: Instant::now(),
            shared: Arc::downgrade(shared),
        });
        if let Some(settings) = cluster.load_settings()? {
            cluster.remember_settings(settings);
            *cluster.seeds.write() = cluster.load_seeds();
            for group in cluster.groups_on_disk()? {
                cluster.host.host_group(group).await?;
            }
            tracing::info!(
                partitions = settings.partitions,
                hosted = cluster.host.hosted_groups().len(),
                "resumed cluster membership from the data directory"
            );
        } else {
            tracing::info!(
                "not part of a cluster yet: waiting for POST /v1/cluster/form, /v1/cluster/join or PUT /v1/partitions/{{p}}"
            );
        }
        Ok(cluster)
    }

    pub fn member(&self) -> &Replica {
        &self.member
    }

    pub fn host(&self) -> &ReplicationHost<PartitionMachine> {
        &self.host
    }

    pub fn settings(&self) -> Option<ClusterSettings> {
        *self.settings.read()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The partition count, once the member joined.
    pub fn partition_count(&self) -> Option<PartitionCount> {
        self.partitions.get().copied()
    }

    /// The partition owning `slot`, once the member joined.
    pub fn partition_of(&self, slot: u16) -> Option<u32> {
        self.partition_count().map(|count| count.partition_of(slot))
    }

    /// Where requests for `partition` go.
    pub fn route(&self, partition: u32) -> Route {
        let route = match self.host.leader(partition) {
            Some(LeaderView::ThisHost) => Route::Local,
            Some(LeaderView::Other(id, address)) => Route::Remote(replica(id, address)),
            Some(LeaderView::Unknown) => Route::Unknown,
            None => self
                .routes
                .leader_of(partition)
                .map_or(Route::Unknown, Route::Remote),
        };
        known_address(route)
    }

    /// True when a replica of `partition` lives here.
    pub fn hosts(&self, partition: u32) -> bool {
        self.host.leader(partition).is_some()
    }

    fn settings_path(&self) -> PathBuf {
        self.data_dir.join(SETTINGS_FILE)
    }

    fn load_settings(&self) -> Result<Option<ClusterSettings>, ClusterError> {
        let path = self.settings_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ClusterError::ReadSettings { path, source }),
        };
        let settings: ClusterSettings =
            serde_json::from_str(&text).map_err(|error| ClusterError::BadSettings {
                path: path.clone(),
                detail: error.to_string(),
            })?;
        validate_settings(&settings)
            .map_err(|detail| ClusterError::BadSettings { path, detail })?;
        Ok(Some(settings))
    }

    /// The seeds of the last join, if they were stored. They only speed up routing until the
    /// next join names them again, so an unreadable file is reported and ignored.
    fn load_seeds(&self) -> BTreeSet<Replica> {
        let path = self.data_dir.join(SEEDS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return BTreeSet::new(),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the seed peers; ignoring them");
                return BTreeSet::new();
            }
        };
        let stored: Vec<Replica> = match serde_json::from_str(&text) {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "the seed peers are not valid JSON; ignoring them");
                return BTreeSet::new();
            }
        };
        seeds::seed_peers(&stored, &self.member).unwrap_or_else(|error| {
            tracing::warn!(path = %path.display(), %error, "ignoring the stored seed peers");
            BTreeSet::new()
        })
    }

    fn remember_settings(&self, settings: ClusterSettings) {
        *self.settings.write() = Some(settings);
        if let Ok(count) = PartitionCount::new(settings.partitions) {
            let _ = self.partitions.set(count);
        }
    }

    fn groups_on_disk(&self) -> Result<Vec<u32>, ClusterError> {
        let path = self.data_dir.join("groups");
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(ClusterError::ListGroups { path, source }),
        };
        let mut groups: Vec<u32> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .collect();
        groups.sort_unstable();
        Ok(groups)
    }

    /// Joins the cluster described by `settings` (idempotent); refuses different settings than the
    /// ones this member already has.
    pub fn join(&self, settings: ClusterSettings) -> Result<(), AdminFailure> {
        validate_settings(&settings)
            .map_err(|detail| AdminFailure::new(ErrorKind::BadRequest, detail))?;
        let mut current = self.settings.write();
        match *current {
            Some(existing) if existing == settings => return Ok(()),
            Some(existing) => {
                return Err(AdminFailure::new(
                    ErrorKind::BadRequest,
                    format!(
                        "this member belongs to a cluster with {} partitions and replication factor {}, \
                         not {} and {}",
                        existing.partitions,
                        existing.replication_factor,
                        settings.partitions,
                        settings.replication_factor
                    ),
                ));
            }
            None => {}
        }
        write_json_atomically(&self.settings_path(), &settings)?;
        *current = Some(settings);
        drop(current);
        if let Ok(count) = PartitionCount::new(settings.partitions) {
            let _ = self.partitions.set(count);
        }
        tracing::info!(
            partitions = settings.partitions,
            replication_factor = settings.replication_factor,
            "joined the cluster"
        );
        Ok(())
    }

    /// `POST /v1/cluster/join`: joins the cluster (as [`join`](Self::join)) without hosting
    /// anything, and takes `request.members` as the seed peers from now on (replacing those of
    /// the previous join), so this member can route before it hosts a replica. Checks the whole
    /// request before changing anything.
    pub fn join_with_seeds(&self, request: &JoinRequest) -> Result<MemberStatus, AdminFailure> {
        let seeds = seeds::seed_peers(&request.members, &self.member)
            .map_err(|detail| AdminFailure::new(ErrorKind::BadRequest, detail))?;
        self.join(request.settings)?;
        let mut current = self.seeds.write();
        // Written only when the seeds change (the operator repeats the same join every
        // reconcile), under the lock, so two joins at once never interleave in the file.
        if *current != seeds {
            let stored: Vec<&Replica> = seeds.iter().collect();
            if let Err(failure) = write_json_atomically(&self.data_dir.join(SEEDS_FILE), &stored) {
                // The seeds work from memory; only a restart before the next join loses them.
                tracing::warn!(error = %failure, "cannot store the seed peers");
            }
            tracing::info!(seeds = seeds.len(), "seed peers set by a join");
            *current = seeds;
        }
        drop(current);
        Ok(self.status())
    }

    fn require_partition(&self, partition: u32) -> Result<ClusterSettings, AdminFailure> {
        let settings = self.settings().ok_or_else(|| {
            AdminFailure::new(
                ErrorKind::NotFormed,
                "this member has not joined a cluster: form one with POST /v1/cluster/form or \
                 join one with POST /v1/cluster/join",
            )
        })?;
        if partition >= settings.partitions {
            return Err(AdminFailure::new(
                ErrorKind::BadRequest,
                format!(
                    "partition {partition} does not exist: the cluster has {} (0 to {})",
                    settings.partitions,
                    settings.partitions - 1
                ),
            ));
        }
        Ok(settings)
    }

    /// Hosts a replica of `partition` here (idempotent), joining the cluster first if needed.
    pub async fn host_partition(
        &self,
        partition: u32,
        settings: ClusterSettings,
    ) -> Result<PartitionStatus, AdminFailure> {
        self.join(settings)?;
        self.require_partition(partition)?;
        self.host.host_group(partition).await.map_err(|error| {
            AdminFailure::new(
                ErrorKind::Internal,
                format!("cannot host partition {partition}: {error}"),
            )
        })?;
        self.partition_status(partition)
            .ok_or_else(|| AdminFailure::new(ErrorKind::Unavailable, "the member is shutting down"))
    }

    /// Stops hosting `partition` and deletes its log, snapshots and keys here (idempotent). Run it
    /// after the replica was removed from the group.
    pub async fn drop_partition(&self, partition: u32) -> Result<(), AdminFailure> {
        let settings = self.require_partition(partition)?;
        let decide = || {
            dropping::drop_decision(
                self.host.status(partition).as_ref(),
                self.member.id,
                self.routes.get(partition).as_ref(),
            )
        };
        let mut decision = decide();
        if !decision.allows_drop() {
            // The leader's report of the removal may simply not have been fetched yet (routes are
            // refreshed once a second): ask the leaders this member knows of now.
            self.ask_leaders_of(partition).await;
            decision = decide();
        }
        if !decision.allows_drop() {
            return Err(AdminFailure::new(
                ErrorKind::Refused,
                format!(
                    "partition {partition} still lists this member as a replica: remove it on the \
                     leader first (DELETE /v1/partitions/{partition}/replicas/{})",
                    self.member.id
                ),
            ));
        }
        self.host
            .stop_group(partition, true)
            .await
            .map_err(|error| {
                AdminFailure::new(
                    ErrorKind::Internal,
                    format!("cannot drop partition {partition}: {error}"),
                )
            })?;
        if let Ok(count) = PartitionCount::new(settings.partitions)
            && let Some(shared) = self.shared.upgrade()
        {
            shared.keyspace.remove_slots(count.slots_of(partition));
        }
        Ok(())
    }

    /// Asks the members this one believes lead `partition` (its own view's leader and the route
    /// table's) for their routes now.
    async fn ask_leaders_of(&self, partition: u32) {
        let own_view = self
            .host
            .status(partition)
            .and_then(|status| status.leader)
            .map(|(id, _)| id.as_u64());
        let mut leaders: Vec<Replica> = self.routes.leader_of(partition).into_iter().collect();
        if let Some(id) = own_view
            && let Some(member) = self.known_members().into_iter().find(|m| m.id == id)
        {
            leaders.push(member);
        }
        leaders.retain(|leader| leader.id != self.member.id);
        leaders.dedup_by_key(|leader| leader.id);
        let access = self.peer_access();
        let mut forwarder = forward::Forwarder::default();
        for leader in leaders {
            routes::ask(self, &mut forwarder, &leader, &access).await;
        }
    }

    /// How this member reaches another member's Redis port (read at each use, so a rotated
    /// password applies at once).
    pub fn peer_access(&self) -> crate::security::PeerAccess {
        self.shared
            .upgrade()
            .map(|shared| shared.peer_access())
            .unwrap_or_default()
    }

    /// Initializes `partition`'s group with `voters` unless it exists (idempotent).
    pub async fn bootstrap(&self, partition: u32, voters: &[Replica]) -> Result<(), AdminFailure> {
        self.require_partition(partition)?;
        if !voters.iter().any(|voter| voter.id == self.member.id) {
            return Err(AdminFailure::new(
                ErrorKind::BadRequest,
                format!(
                    "the voters of partition {partition} must include this member ({})",
                    self.member.id
                ),
            ));
        }
        let voters: BTreeMap<RaftNodeId, String> = voters
            .iter()
            .map(|voter| (RaftNodeId::from_u64(voter.id), voter.address.clone()))
            .collect();
        self.host
            .bootstrap_group(partition, voters)
            .await
            .map_err(|error| {
                AdminFailure::new(
                    ErrorKind::Internal,
                    format!("cannot bootstrap partition {partition}: {error}"),
                )
            })
    }

    /// Runs one replica-move step on `partition`'s group and counts it when it succeeds.
    async fn move_step(
        &self,
        partition: u32,
        operation: &str,
        counter: &AtomicU64,
        step: impl std::future::Future<Output = Result<(), AdminError>>,
    ) -> Result<(), AdminFailure> {
        self.require_partition(partition)?;
        step.await
            .map_err(|error| AdminFailure::from_admin(partition, operation, error))?;
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub async fn add_learner(&self, partition: u32, learner: &Replica) -> Result<(), AdminFailure> {
        let id = RaftNodeId::from_u64(learner.id);
        let step = self
            .host
            .add_learner(partition, id, learner.address.clone());
        self.move_step(
            partition,
            "add learner",
            &self.counters.moves_add_learner,
            step,
        )
        .await
    }

    pub async fn promote(&self, partition: u32, id: u64) -> Result<(), AdminFailure> {
        let step = self.host.promote(partition, RaftNodeId::from_u64(id));
        self.move_step(partition, "promote", &self.counters.moves_promote, step)
            .await
    }

    pub async fn transfer_leadership(&self, partition: u32, to: u64) -> Result<(), AdminFailure> {
        let step = self
            .host
            .transfer_leadership(partition, RaftNodeId::from_u64(to));
        let counter = &self.counters.moves_transfer_leadership;
        self.move_step(partition, "transfer leadership", counter, step)
            .await
    }

    pub async fn remove_replica(&self, partition: u32, id: u64) -> Result<(), AdminFailure> {
        let step = self
            .host
            .remove_replica(partition, RaftNodeId::from_u64(id));
        let counter = &self.counters.moves_remove_replica;
        self.move_step(partition, "remove replica", counter, step)
            .await
    }

    /// Hands the leadership of every partition led here to another voter (pre-stop), within
    /// [`LEAVE_TIMEOUT`].
    pub async fn leave(&self) -> LeaveResponse {
        let deadline = Instant::now() + LEAVE_TIMEOUT;
        let mut transferred = Vec::new();
        let mut still_leading = Vec::new();
        for partition in self.host.hosted_groups() {
            let Some(status) = self.host.status(partition) else {
                continue;
            };
            if status.role != ringcache_replication::Role::Leader {
                continue;
            }
            let me = self.host.id();
            let successor = status
                .voters
                .keys()
                .filter(|id| **id != me)
                .max_by_key(|id| status.replication.get(id).copied().flatten());
            let Some(successor) = successor.copied() else {
                still_leading.push(partition);
                continue;
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            let transfer = self.host.transfer_leadership(partition, successor);
            match tokio::time::timeout(remaining, transfer).await {
                Ok(Ok(())) => transferred.push(partition),
                _ => still_leading.push(partition),
            }
        }
        tracing::info!(
            transferred = transferred.len(),
            still_leading = still_leading.len(),
            "handed leadership away"
        );
        LeaveResponse {
            transferred,
            still_leading,
        }
    }

    /// One hosted partition's status for the admin API.
    pub fn partition_status(&self, partition: u32) -> Option<PartitionStatus> {
        let status = self.host.status(partition)?;
        let slots = self
            .partition_count()
            .map(|count| count.slots_of(partition))
            .unwrap_or(0..0);
        Some(partition_status(
            partition,
            slots,
            status,
            SlotUsage::default(),
        ))
    }

    /// `GET /v1/status`, with each partition's keys counted.
    pub fn status(&self) -> MemberStatus {
        let count = self.partition_count();
        let shared = self.shared.upgrade();
        let partitions = self
            .host
            .hosted_groups()
            .into_iter()
            .filter_map(|partition| {
                let status = self.host.status(partition)?;
                let slots = count.map(|count| count.slots_of(partition)).unwrap_or(0..0);
                let usage = shared.as_ref().map_or(SlotUsage::default(), |shared| {
                    shared.keyspace.usage_in(slots.clone())
                });
                Some(partition_status(partition, slots, status, usage))
            })
            .collect();
        let readiness = self.readiness();
        MemberStatus {
            member: self.member.clone(),
            cluster: self.settings(),
            ready: readiness.is_ok(),
            not_ready_reason: readiness.err(),
            partitions,
            used_memory: shared
                .as_ref()
                .map_or(0, |shared| shared.keyspace.used_memory()),
            max_memory: shared
                .as_ref()
                .map_or(0, |shared| shared.keyspace.maxmemory()),
        }
    }

    /// Ready: joined, and every hosted voter has applied what its group committed (a replica
    /// restarted from disk only knows that once its leader has reached it). Replicas that are not
    /// voters do not count: see [`readiness`].
    pub fn readiness(&self) -> Result<(), String> {
        let replicas = self
            .host
            .hosted_groups()
            .into_iter()
            .filter_map(|partition| Some((partition, self.host.status(partition)?)));
        readiness::member_readiness(self.settings().is_some(), replicas)
    }

    /// Every member this one knows of: itself, every replica of its hosted groups, every replica
    /// other members reported, and the seed peers of the last join.
    pub fn known_members(&self) -> BTreeSet<Replica> {
        let mut members = BTreeSet::from([self.member.clone()]);
        for partition in self.host.hosted_groups() {
            if let Some(status) = self.host.status(partition) {
                for (id, address) in status.voters.into_iter().chain(status.learners) {
                    members.insert(replica(id, address));
                }
            }
        }
        members.extend(self.routes.members());
        members.extend(self.seeds.read().iter().cloned());
        members
    }

    pub async fn shutdown(&self) {
        self.host.shutdown().await;
    }
}

/// Writes `value` as JSON to `path` through a temporary file, so a crash never leaves half a file.
fn write_json_atomically(
    path: &std::path::Path,
    value: &impl serde::Serialize,
) -> Result<(), AdminFailure> {
    let cannot_write = |detail: String| {
        AdminFailure::new(
            ErrorKind::Internal,
            format!("cannot write {}: {detail}", path.display()),
        )
    };
    let text =
        serde_json::to_string_pretty(value).map_err(|error| cannot_write(error.to_string()))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| cannot_write(error.to_string()))
}

fn validate_settings(settings: &ClusterSettings) -> Result<(), String> {
    PartitionCount::new(settings.partitions).map_err(|error| error.to_string())?;
    if settings.replication_factor == 0 {
        return Err("replicationFactor must be at least 1".to_owned());
    }
    Ok(())
}

fn role(role: ringcache_replication::Role) -> Role {
    match role {
        ringcache_replication::Role::Leader => Role::Leader,
        ringcache_replication::Role::Follower => Role::Follower,
        ringcache_replication::Role::Candidate => Role::Candidate,
        ringcache_replication::Role::Learner => Role::Learner,
        ringcache_replication::Role::Shutdown => Role::Shutdown,
    }
}

fn partition_status(
    partition: u32,
    slots: std::ops::Range<u16>,
    status: GroupStatus,
    usage: SlotUsage,
) -> PartitionStatus {
    let replication = replication_progress(&status);
    let replicas = |members: BTreeMap<RaftNodeId, String>| {
        members
            .into_iter()
            .map(|(id, address)| replica(id, address))
            .collect()
    };
    PartitionStatus {
        partition,
        slots: [slots.start, slots.end.saturating_sub(1)],
        role: role(status.role),
        term: status.term,
        leader: status.leader.map(|(id, address)| replica(id, address)),
        voters: replicas(status.voters),
        learners: replicas(status.learners),
        joint: status.joint,
        last_log_index: status.last_log_index,
        committed_index: status.committed_index,
        applied_index: status.applied_index,
        snapshot_index: status.snapshot_index,
        keys: usage.keys,
        used_memory: usage.bytes,
        replication,
    }
}

/// On a leader: how far every other voter and learner holds the log, in id order (a replica the
/// leader has no progress for yet shows `None`). Empty on any other replica, whose view of the
/// others' progress would be stale or absent.
fn replication_progress(status: &GroupStatus) -> Vec<ReplicaProgress> {
    if status.role != ringcache_replication::Role::Leader {
        return Vec::new();
    }
    let others: BTreeSet<RaftNodeId> = status
        .voters
        .keys()
        .chain(status.learners.keys())
        .filter(|id| **id != status.id)
        .copied()
        .collect();
    others
        .into_iter()
        .map(|id| ReplicaProgress {
            id: id.as_u64(),
            matched_index: status.replication.get(&id).copied().flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_leader_without_an_address_is_not_a_route() {
        use super::{Route, known_address, replica};
        use ringcache_replication::RaftNodeId;
        let leader = |address: &str| replica(RaftNodeId::new(2, 1), address.to_owned());
        assert_eq!(
            known_address(Route::Remote(leader("m2:6379@16379"))),
            Route::Remote(leader("m2:6379@16379"))
        );
        assert_eq!(known_address(Route::Remote(leader(""))), Route::Unknown);
        assert_eq!(
            known_address(Route::Remote(leader("@16379"))),
            Route::Unknown
        );
        assert_eq!(known_address(Route::Local), Route::Local);
    }

    use ringcache_replication::Role as RaftRole;

    use super::*;

    fn id(ordinal: u16) -> RaftNodeId {
        RaftNodeId::new(ordinal, 1)
    }

    /// Member 0's view of a group of voters 0, 1, 2 and learner 3.
    fn view(role: RaftRole) -> GroupStatus {
        let members = |ordinals: &[u16]| {
            ordinals
                .iter()
                .map(|ordinal| (id(*ordinal), format!("m{ordinal}:6379@16379")))
                .collect()
        };
        GroupStatus {
            id: id(0),
            role,
            term: 3,
            leader: Some((id(0), "m0:6379@16379".to_owned())),
            voters: members(&[0, 1, 2]),
            learners: members(&[3]),
            joint: false,
            last_log_index: Some(30),
            committed_index: Some(30),
            applied_index: Some(30),
            catch_up_target: Some(30),
            snapshot_index: None,
            purged_index: None,
            // openraft lists the leader itself too; replica 2 has no progress yet.
            replication: [(id(0), Some(30)), (id(1), Some(30)), (id(3), Some(12))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_leader_reports_every_other_voter_and_learner() {
        let progress = replication_progress(&view(RaftRole::Leader));
        let expected =
            [(1, Some(30)), (2, None), (3, Some(12))].map(|(ordinal, matched)| ReplicaProgress {
                id: id(ordinal).as_u64(),
                matched_index: matched,
            });
        assert_eq!(progress, expected);
    }

    #[test]
    fn other_replicas_report_no_progress() {
        for role in [RaftRole::Follower, RaftRole::Learner, RaftRole::Candidate] {
            assert_eq!(replication_progress(&view(role)), vec![], "{role:?}");
        }
    }

    #[test]
    fn the_admin_status_carries_the_leaders_progress() {
        let status = partition_status(0, 0..1024, view(RaftRole::Leader), SlotUsage::default());
        assert_eq!(status.replication.len(), 3);
        assert_eq!(status.replication[2].matched_index, Some(12));
    }
}
