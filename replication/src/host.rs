//! [`ReplicationHost`]: all Raft groups of one process, their storage and the cluster port.
//!
//! This file holds the host's life cycle (start, host / bootstrap / stop a group, shut down) and
//! what a group looks like from here; the rest is split by concern:
//! - `proposals`: writes on a group's leader;
//! - `reads`: linearizable reads (ReadIndex or leader lease) and local reads;
//! - `admin`: membership changes (learner, promote, voters, transfer, remove), whose decisions
//!   are the pure functions of `crate::membership`;
//! - `heartbeats`: one heartbeat round for every group led here;
//! - `remote`: Raft RPCs and snapshots arriving from peers on the cluster port.

mod admin;
mod heartbeats;
mod proposals;
mod reads;
mod remote;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use openraft::errors::{ForwardToLeader, RaftError};
use openraft::type_config::async_runtime::watch::WatchReceiver;
use openraft::{BasicNode, RaftMetrics, ServerState};
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::network::GroupNetworkFactory;
use crate::raft_types::{Raft, RaftTypes};
use crate::status::{GroupStatus, Role};
use crate::storage::log_store::LogStore;
use crate::storage::state_machine_store::StateMachineStore;
use crate::transport::{RequestHandler, Transport, WireCounters};
use crate::{
    Durability, GroupId, IDENTITY_FILE, LeaderHint, RaftNodeId, ReplicationConfig, StartError,
    StateMachine,
};

/// Sub-directory of the data directory holding one directory per group.
const GROUPS_DIRECTORY: &str = "groups";
/// How often admin operations re-check progress while they wait.
const POLL: Duration = Duration::from_millis(20);

/// One Raft group hosted here.
struct Group<S: StateMachine> {
    raft: Raft<StateMachineStore<S>>,
    machine: Arc<RwLock<S>>,
    /// Serializes membership changes started on this host: openraft lets concurrent changes
    /// interleave into surprising joint configurations.
    membership_change: tokio::sync::Mutex<()>,
    /// The term in which this host started handing leadership over (0: never). openraft stops
    /// serving reads once a transfer starts; the lease fast path must stop too, and the metrics
    /// it reads do not show a transfer.
    transfer_started_in_term: AtomicU64,
    /// Set once per process: see [`GroupStatus::catch_up_target`].
    catch_up_target: OnceLock<u64>,
}

struct HostInner<S: StateMachine> {
    id: RaftNodeId,
    address: String,
    config: ReplicationConfig,
    raft_config: Arc<openraft::Config>,
    groups: RwLock<HashMap<GroupId, Arc<Group<S>>>>,
    transport: Arc<Transport>,
    shutdown: watch::Sender<bool>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Serializes `host_group`, so one group's files are never opened by two Raft instances.
    hosting: tokio::sync::Mutex<()>,
    make_state_machine: Box<dyn Fn(GroupId) -> S + Send + Sync>,
    /// Group logs whose incomplete last record was cut off when they were opened.
    torn_log_tails: AtomicU64,
    /// Until then this host neither votes nor campaigns (set when it restarts with a stored
    /// identity): see [`HostInner::votes_withheld`].
    quiet_until: std::time::Instant,
}

impl<S: StateMachine> HostInner<S> {
    /// How much longer this host withholds votes and campaigns after a restart (`None`: it
    /// does not).
    fn votes_withheld(&self) -> Option<Duration> {
        self.quiet_until
            .checked_duration_since(std::time::Instant::now())
            .filter(|left| !left.is_zero())
    }
}

/// All Raft groups of one ringcache process, and the cluster-port transport they share.
///
/// One per process. Groups are keyed by [`GroupId`] (the partition). Cluster formation: every
/// member calls [`host_group`](Self::host_group) for the groups placed on it, and one designated
/// member calls [`bootstrap_group`](Self::bootstrap_group) with the full voter set. Proposals,
/// reads and admin operations go to the group's leader; the others answer `NotLeader` with a hint.
///
/// Cheap to clone: clones share the host.
pub struct ReplicationHost<S: StateMachine> {
    inner: Arc<HostInner<S>>,
}

impl<S: StateMachine> Clone for ReplicationHost<S> {
    fn clone(&self) -> Self {
        ReplicationHost {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: StateMachine> ReplicationHost<S> {
    /// Starts the host: settles its Raft identity (see [`RaftNodeId`]) and serves the cluster
    /// port on `listener`. `address` is how peers reach `listener` (for example
    /// `ringcache-2.ringcache:16379`). `make_state_machine` builds the empty state machine of a
    /// group when it is first hosted.
    ///
    /// A data directory without an identity file is treated as empty: any group state left in it
    /// belongs to an unknown identity and is deleted, so it can never be replayed under a new one.
    pub async fn start(
        listener: TcpListener,
        address: String,
        ordinal: u16,
        config: ReplicationConfig,
        make_state_machine: impl Fn(GroupId) -> S + Send + Sync + 'static,
    ) -> Result<Self, StartError> {
        if config.max_command_len > crate::MAX_COMMAND_LEN_LIMIT {
            return Err(StartError::CommandLimit {
                requested: config.max_command_len,
                limit: crate::MAX_COMMAND_LEN_LIMIT,
            });
        }
        let started = std::time::Instant::now();
        let (id, restarted) = match &config.durability {
            Durability::InMemory => (RaftNodeId::fresh(ordinal), false),
            Durability::Directory { path, .. } => {
                let groups = path.join(GROUPS_DIRECTORY);
                let restarted = path.join(IDENTITY_FILE).exists();
                if !restarted && groups.exists() {
                    tracing::warn!(path = %groups.display(), "group state without an identity: deleting it");
                    std::fs::remove_dir_all(&groups)?;
                }
                (RaftNodeId::load_or_create(path, ordinal)?, restarted)
            }
        };
        // Before the crash this host may have acknowledged a leader's heartbeat, and that
        // leader may still serve lease reads on the strength of it; openraft forgets on restart
        // that it promised not to vote for anyone else meanwhile. A lease lasts less than the
        // maximum election timeout after the heartbeat was sent, which was before this start.
        let quiet_until = if restarted {
            started + config.election_timeout.1
        } else {
            started
        };
        let (election_min, election_max) = config.election_timeout;
        let raft_config = openraft::Config {
            cluster_name: "ringcache".to_owned(),
            // openraft's own heartbeat timer is off (the host sends every group's heartbeats
            // together, every `config.heartbeat_interval`). What this value still sets is how
            // often each group ticks (13/64 of it) to check its election timer, and openraft's
            // per-message timeouts. Two thirds of the minimum election timeout halves the ticks
            // of 64 idle groups, checks elections every 40 ms with the default 300 ms minimum,
            // and gives AppendEntries 200 ms, not 100 ms.
            heartbeat_interval: (election_min.as_millis() as u64 * 2 / 3)
                .max(config.heartbeat_interval.as_millis() as u64),
            election_timeout_min: election_min.as_millis() as u64,
            election_timeout_max: election_max.as_millis() as u64,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.snapshot_every_entries),
            max_in_snapshot_log_to_keep: config.snapshot_every_entries.min(1000),
            install_snapshot_timeout: config.rpc_timeout.as_millis() as u64 * 5,
            // A member that was removed, or that was partitioned away, must not disrupt the
            // group with term bumps: it has to win a pre-vote first.
            enable_pre_vote: Some(true),
            // Replicate an entry as soon as it is handed to the log store, not after the
            // flush notification has travelled back through the core: one task hop less on
            // every write (the log store's append is synchronous anyway).
            broadcast_submitted_on_append: Some(true),
            // The host sends the heartbeats of all the groups it leads together (see
            // `send_heartbeats_together`); openraft's ticks still run elections.
            enable_heartbeat: false,
            // A leader restarted from disk would otherwise resume its old leadership at once,
            // with the commit index its disk recorded, which can be behind what it acknowledged
            // before the crash: every leadership must be won afresh and prove itself by
            // committing an entry of its own (see `GroupStatus::catch_up`).
            enable_leader_restore: Some(false),
            ..Default::default()
        }
        .validate()
        .map_err(|error| StartError::Raft(error.to_string()))?;
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let inner = Arc::new(HostInner {
            id,
            address,
            transport: Arc::new(Transport::new(
                config.rpc_timeout,
                shutdown_receiver.clone(),
                Arc::new(WireCounters::default()),
                listener
                    .local_addr()
                    .ok()
                    .map(|local| local.ip())
                    .filter(|ip| !ip.is_unspecified()),
                config.cluster_secret.clone(),
                config.cluster_tls.clone(),
            )),
            config,
            raft_config: Arc::new(raft_config),
            groups: RwLock::new(HashMap::new()),
            shutdown,
            server: Mutex::new(None),
            hosting: tokio::sync::Mutex::new(()),
            make_state_machine: Box::new(make_state_machine),
            torn_log_tails: AtomicU64::new(0),
            quiet_until,
        });
        let handler: Arc<dyn RequestHandler> = inner.clone();
        let handler: Weak<dyn RequestHandler> = Arc::downgrade(&handler);
        *inner.server.lock() = Some(crate::transport::serve(
            listener,
            handler,
            shutdown_receiver,
            Arc::clone(inner.transport.counters()),
            inner.config.cluster_secret.clone(),
            inner.config.cluster_tls.clone(),
        ));
        tokio::spawn(heartbeats::send_heartbeats_together(Arc::downgrade(&inner)));
        Ok(ReplicationHost { inner })
    }

    /// Frames and socket writes on this host's cluster connections.
    pub fn wire_counters(&self) -> &WireCounters {
        self.inner.transport.counters()
    }

    /// Group logs opened here whose incomplete last record (a crash during an append) was cut
    /// off.
    pub fn torn_log_tails(&self) -> u64 {
        self.inner.torn_log_tails.load(Ordering::Relaxed)
    }

    /// The largest encoded command a proposal may carry (`ReplicationConfig::max_command_len`).
    pub fn max_command_len(&self) -> usize {
        self.inner.config.max_command_len
    }

    /// This host's Raft identity.
    pub fn id(&self) -> RaftNodeId {
        self.inner.id
    }

    /// The address this host's outgoing connections are bound to (`None`: the system picks).
    pub fn source_address(&self) -> Option<std::net::IpAddr> {
        self.inner.transport.source()
    }

    /// The cluster address peers use to reach this host.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The groups hosted here.
    pub fn hosted_groups(&self) -> Vec<GroupId> {
        let mut groups: Vec<GroupId> = self.inner.groups.read().keys().copied().collect();
        groups.sort_unstable();
        groups
    }

    /// Starts hosting `group` (idempotent), recovering its log and snapshot from the data
    /// directory if there are any. A new replica waits here, empty, until the leader contacts it
    /// (after [`add_learner`](Self::add_learner)) or until it is bootstrapped.
    pub async fn host_group(&self, group: GroupId) -> Result<(), StartError> {
        if *self.inner.shutdown.borrow() {
            return Err(StartError::ShuttingDown);
        }
        let _serial = self.inner.hosting.lock().await;
        if self.inner.groups.read().contains_key(&group) {
            return Ok(());
        }
        let machine = Arc::new(RwLock::new((self.inner.make_state_machine)(group)));
        let (log_store, state_machine_store) = match &self.inner.config.durability {
            Durability::InMemory => (
                LogStore::in_memory(),
                StateMachineStore::open(Arc::clone(&machine), None)?,
            ),
            Durability::Directory { path, fsync } => {
                let directory = group_directory(path, group);
                let opened = LogStore::open(&directory, *fsync)
                    .map_err(|error| StartError::Storage(error.to_string()))?;
                if let Some(offset) = opened.torn_tail_at {
                    // Only an append that never finished, so never acknowledged: the group
                    // catches up from its leader like any follower that is behind.
                    tracing::warn!(
                        group,
                        offset,
                        path = %directory.display(),
                        "cut off an incomplete last log record (a crash during an append)"
                    );
                    self.inner.torn_log_tails.fetch_add(1, Ordering::Relaxed);
                }
                let log_store = opened.store;
                let state_machine_store =
                    StateMachineStore::open(Arc::clone(&machine), Some((directory, *fsync)))
                        .map_err(|error| StartError::Storage(error.to_string()))?;
                (log_store, state_machine_store)
            }
        };
        let network = GroupNetworkFactory {
            group,
            transport: Arc::clone(&self.inner.transport),
        };
        // A group started while this host withholds votes starts with elections off, so no
        // tick can campaign before the quiet period ends (see `votes_withheld`).
        let quiet = self.inner.votes_withheld().is_some();
        let raft = Raft::new(
            self.inner.id,
            if quiet {
                Arc::new(openraft::Config {
                    enable_elect: false,
                    ..(*self.inner.raft_config).clone()
                })
            } else {
                Arc::clone(&self.inner.raft_config)
            },
            network,
            log_store,
            state_machine_store,
        )
        .await
        .map_err(|error| StartError::Raft(error.to_string()))?;
        // Until its core task first publishes metrics, a group's status shows openraft's initial
        // values (no voters, no log) even when its disk holds a voter's state, and a replica with
        // no voters counts as waiting to be added, which does not hold up readiness. The core
        // answers calls only after that first publication, so one round trip before the group
        // becomes visible here means its status always shows what it recovered.
        raft.is_initialized()
            .await
            .map_err(|error| StartError::Raft(error.to_string()))?;
        let hosted = Arc::new(Group {
            raft,
            machine,
            membership_change: tokio::sync::Mutex::new(()),
            transfer_started_in_term: AtomicU64::new(0),
            catch_up_target: OnceLock::new(),
        });
        if quiet {
            // No campaign during the quiet period either: this host's own vote would count like
            // anyone's. Elections start when it ends.
            let raft = hosted.raft.clone();
            let until = self.inner.quiet_until;
            tokio::spawn(async move {
                tokio::time::sleep_until(until.into()).await;
                raft.runtime_config().elect(true);
            });
        }
        let duplicate = {
            let mut groups = self.inner.groups.write();
            if let std::collections::hash_map::Entry::Vacant(vacant) = groups.entry(group) {
                vacant.insert(Arc::clone(&hosted));
                false
            } else {
                true
            }
        };
        if duplicate {
            // Another caller won the race; this instance never served anything.
            let _ = hosted.raft.shutdown().await;
        }
        Ok(())
    }

    /// Hosts `group` and, if it has never been initialized anywhere this host knows of,
    /// initializes it with `voters` (Raft id → cluster address, this host included). Run it on
    /// exactly one designated member per group; idempotent.
    pub async fn bootstrap_group(
        &self,
        group: GroupId,
        voters: BTreeMap<RaftNodeId, String>,
    ) -> Result<(), StartError> {
        self.host_group(group).await?;
        let hosted = self.group(group).ok_or(StartError::ShuttingDown)?;
        let initialized = hosted
            .raft
            .is_initialized()
            .await
            .map_err(|error| StartError::Raft(error.to_string()))?;
        if initialized {
            return Ok(());
        }
        let members: BTreeMap<RaftNodeId, BasicNode> = voters
            .into_iter()
            .map(|(id, address)| (id, BasicNode::new(address)))
            .collect();
        match hosted.raft.initialize(members).await {
            Ok(()) => Ok(()),
            // Someone (a leader, or an earlier call) got there first: the group exists.
            Err(RaftError::APIError(openraft::errors::InitializeError::NotAllowed(_))) => Ok(()),
            Err(error) => Err(StartError::Raft(error.to_string())),
        }
    }

    /// Stops hosting `group` (idempotent); with `delete_data`, also deletes its stored state.
    /// Call it on a member after [`remove_replica`](Self::remove_replica) removed it.
    pub async fn stop_group(&self, group: GroupId, delete_data: bool) -> Result<(), StartError> {
        let removed = self.inner.groups.write().remove(&group);
        if let Some(hosted) = removed {
            let _ = hosted.raft.shutdown().await;
        }
        if delete_data && let Durability::Directory { path, .. } = &self.inner.config.durability {
            let directory = group_directory(path, group);
            match std::fs::remove_dir_all(&directory) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    fn group(&self, group: GroupId) -> Option<Arc<Group<S>>> {
        self.inner.groups.read().get(&group).cloned()
    }

    fn shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// Who leads `group`, as this host knows it; cheap enough for every client request (no status
    /// copy). `None` if the group is not hosted here.
    pub fn leader(&self, group: GroupId) -> Option<LeaderView> {
        let hosted = self.group(group)?;
        let metrics = hosted.raft.metrics();
        let metrics = metrics.borrow_watched();
        if metrics.state == ServerState::Leader {
            return Some(LeaderView::ThisHost);
        }
        let view = match metrics.current_leader {
            Some(id) => metrics
                .membership_config
                .membership()
                .get_node(&id)
                .map_or(LeaderView::Unknown, |node| {
                    LeaderView::Other(id, node.addr.clone())
                }),
            None => LeaderView::Unknown,
        };
        Some(view)
    }

    /// The group's state as this host sees it; `None` if not hosted.
    pub fn status(&self, group: GroupId) -> Option<GroupStatus> {
        let hosted = self.group(group)?;
        Some(status_of(&hosted))
    }

    /// Stops every group and the cluster port. Proposals still in flight end with
    /// `OutcomeUnknown`; new calls get `ShuttingDown`.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let groups: Vec<Arc<Group<S>>> =
            self.inner.groups.write().drain().map(|(_, g)| g).collect();
        for hosted in groups {
            let _ = hosted.raft.shutdown().await;
        }
        let server = self.inner.server.lock().take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }
}

/// Who leads a group, from one host's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderView {
    /// This host.
    ThisHost,
    /// Another member, with its address.
    Other(RaftNodeId, String),
    /// No leader known (an election is running, or the group was never initialized).
    Unknown,
}

fn group_directory(data_directory: &std::path::Path, group: GroupId) -> PathBuf {
    data_directory
        .join(GROUPS_DIRECTORY)
        .join(group.to_string())
}

fn leader_hint(forward: &ForwardToLeader<RaftTypes>) -> LeaderHint {
    match (&forward.leader_id, &forward.leader_node) {
        (Some(id), Some(node)) => Some((*id, node.addr.clone())),
        _ => None,
    }
}

fn status_of<S: StateMachine>(hosted: &Group<S>) -> GroupStatus {
    let metrics = hosted.raft.metrics().borrow_watched().clone();
    let membership = metrics.membership_config.membership();
    let address_of = |id: &RaftNodeId| {
        membership
            .get_node(id)
            .map(|node| node.addr.clone())
            .unwrap_or_default()
    };
    let voters: BTreeMap<RaftNodeId, String> = membership
        .voter_ids()
        .map(|id| (id, address_of(&id)))
        .collect();
    let learners: BTreeMap<RaftNodeId, String> = membership
        .learner_ids()
        .map(|id| (id, address_of(&id)))
        .collect();
    let role = match metrics.state {
        ServerState::Leader => Role::Leader,
        ServerState::Follower => Role::Follower,
        ServerState::Candidate => Role::Candidate,
        ServerState::Learner => Role::Learner,
        ServerState::Shutdown => Role::Shutdown,
    };
    GroupStatus {
        id: metrics.id,
        role,
        term: metrics.current_term,
        leader: metrics.current_leader.map(|id| (id, address_of(&id))),
        joint: membership.get_joint_config().len() > 1,
        voters,
        learners,
        last_log_index: metrics.last_log_index,
        committed_index: metrics
            .cluster_committed
            .as_ref()
            .map(|log_id| log_id.index),
        applied_index: metrics.last_applied.as_ref().map(|log_id| log_id.index),
        catch_up_target: catch_up_target(hosted, &metrics),
        snapshot_index: metrics.snapshot.as_ref().map(|log_id| log_id.index),
        purged_index: metrics.purged.as_ref().map(|log_id| log_id.index),
        replication: metrics
            .replication
            .iter()
            .flatten()
            .map(|(id, matched)| (*id, matched.as_ref().map(|log_id| log_id.index)))
            .collect(),
    }
}

/// The group's [`GroupStatus::catch_up_target`], set here on a leader that has applied an entry
/// of its own (followers get theirs from their leader's AppendEntries).
fn catch_up_target<S: StateMachine>(
    hosted: &Group<S>,
    metrics: &RaftMetrics<RaftTypes>,
) -> Option<u64> {
    if let Some(target) = hosted.catch_up_target.get() {
        return Some(*target);
    }
    if metrics.state != ServerState::Leader {
        return None;
    }
    let own_entry_applied = metrics
        .last_applied
        .as_ref()
        .filter(|log_id| log_id.leader_id == metrics.vote.leader_id)?;
    Some(
        *hosted
            .catch_up_target
            .get_or_init(|| own_entry_applied.index),
    )
}
