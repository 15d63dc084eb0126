//! [`ReplicationHost`]: all Raft groups of one process, their storage and the cluster port.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use openraft::errors::{ClientWriteError, ForwardToLeader, LinearizableReadError, RaftError};
use openraft::raft::AppendEntriesResponse;
use openraft::type_config::async_runtime::watch::WatchReceiver;
use openraft::{BasicNode, ChangeMembers, RaftMetrics, ServerState};
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::codec::{RemoteFailure, RequestBody, ResponseBody};
use crate::network::GroupNetworkFactory;
use crate::raft_types::{CommandBytes, Raft, RaftTypes};
use crate::status::{GroupStatus, Role};
use crate::storage::log_store::LogStore;
use crate::storage::snapshot_sink::SnapshotSink;
use crate::storage::state_machine_store::{StateMachineStore, check_image};
use crate::transport::{Incoming, RequestHandler, Transport, WireCounters};
use crate::{
    AdminError, Durability, GroupId, IDENTITY_FILE, LeaderHint, ProposeError, RaftNodeId,
    ReadError, ReadPolicy, ReplicationConfig, StartError, StateMachine,
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
        let id = match &config.durability {
            Durability::InMemory => RaftNodeId::fresh(ordinal),
            Durability::Directory { path, .. } => {
                let groups = path.join(GROUPS_DIRECTORY);
                if !path.join(IDENTITY_FILE).exists() && groups.exists() {
                    tracing::warn!(path = %groups.display(), "group state without an identity: deleting it");
                    std::fs::remove_dir_all(&groups)?;
                }
                RaftNodeId::load_or_create(path, ordinal)?
            }
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
            )),
            config,
            raft_config: Arc::new(raft_config),
            groups: RwLock::new(HashMap::new()),
            shutdown,
            server: Mutex::new(None),
            hosting: tokio::sync::Mutex::new(()),
            make_state_machine: Box::new(make_state_machine),
        });
        let handler: Arc<dyn RequestHandler> = inner.clone();
        let handler: Weak<dyn RequestHandler> = Arc::downgrade(&handler);
        *inner.server.lock() = Some(crate::transport::serve(
            listener,
            handler,
            shutdown_receiver,
            Arc::clone(inner.transport.counters()),
        ));
        tokio::spawn(send_heartbeats_together(Arc::downgrade(&inner)));
        Ok(ReplicationHost { inner })
    }

    /// Frames and socket writes on this host's cluster connections.
    pub fn wire_counters(&self) -> &WireCounters {
        self.inner.transport.counters()
    }

    /// This host's Raft identity.
    pub fn id(&self) -> RaftNodeId {
        self.inner.id
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
                let log_store = LogStore::open(&directory, *fsync)
                    .map_err(|error| StartError::Storage(error.to_string()))?;
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
        let raft = Raft::new(
            self.inner.id,
            Arc::clone(&self.inner.raft_config),
            network,
            log_store,
            state_machine_store,
        )
        .await
        .map_err(|error| StartError::Raft(error.to_string()))?;
        let hosted = Arc::new(Group {
            raft,
            machine,
            membership_change: tokio::sync::Mutex::new(()),
            transfer_started_in_term: AtomicU64::new(0),
            catch_up_target: OnceLock::new(),
        });
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

    /// Proposes `command` to `group` and returns the state machine's response once the command
    /// is committed and applied here. Must run on the leader.
    ///
    /// Errors tell whether the command may have applied: see
    /// [`ProposeError::definitely_not_applied`].
    pub async fn propose(
        &self,
        group: GroupId,
        command: &S::Command,
    ) -> Result<S::Response, ProposeError> {
        if self.shutting_down() {
            return Err(ProposeError::ShuttingDown);
        }
        let hosted = self
            .group(group)
            .ok_or(ProposeError::GroupNotHosted(group))?;
        let bytes =
            bincode::serialize(command).map_err(|error| ProposeError::Encode(error.to_string()))?;
        let timeout = self.inner.config.propose_timeout;
        let written = tokio::time::timeout(timeout, hosted.raft.client_write(CommandBytes(bytes)));
        match written.await {
            Err(_) => Err(ProposeError::OutcomeUnknown {
                reason: format!("not committed within {timeout:?}"),
            }),
            Ok(Ok(response)) => match response.data.0 {
                Some(Ok(output)) => output
                    .downcast::<S::Response>()
                    .map(|boxed| *boxed)
                    .map_err(|_| ProposeError::OutcomeUnknown {
                        reason: "applied, but the response has an unexpected type".to_owned(),
                    }),
                Some(Err(error)) => Err(ProposeError::Undecodable(error)),
                None => Err(ProposeError::OutcomeUnknown {
                    reason: "applied without a response".to_owned(),
                }),
            },
            // openraft rejects before appending: nothing was written anywhere.
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))) => {
                Err(ProposeError::NotLeader {
                    leader: leader_hint(&forward),
                })
            }
            Ok(Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(forward)))) => {
                Err(ProposeError::OutcomeUnknown {
                    reason: format!("leadership lost after the write was appended ({forward})"),
                })
            }
            Ok(Err(error)) => Err(ProposeError::OutcomeUnknown {
                reason: error.to_string(),
            }),
        }
    }

    /// Confirms that this host is the leader of `group` and that its state machine has applied
    /// everything committed before the call; the caller then reads its local state machine
    /// ([`read_local`](Self::read_local)) and the read is linearizable.
    pub async fn linearizable_read(&self, group: GroupId) -> Result<(), ReadError> {
        if self.shutting_down() {
            return Err(ReadError::ShuttingDown);
        }
        let hosted = self.group(group).ok_or(ReadError::GroupNotHosted(group))?;
        let timeout = self.inner.config.read_timeout;
        let hosted = &hosted;
        let confirm = |policy| async move {
            match tokio::time::timeout(timeout, hosted.raft.ensure_linearizable(policy)).await {
                Err(_) => Err(ReadError::Unavailable {
                    reason: format!("not confirmed within {timeout:?}"),
                }),
                Ok(Ok(_)) => Ok(()),
                Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(forward)))) => {
                    Err(ReadError::NotLeader {
                        leader: leader_hint(&forward),
                    })
                }
                Ok(Err(error)) => Err(ReadError::Unavailable {
                    reason: error.to_string(),
                }),
            }
        };
        match self.inner.config.read_policy {
            ReadPolicy::ReadIndex => confirm(openraft::ReadPolicy::ReadIndex).await,
            ReadPolicy::LeaderLease if lease_valid_in_metrics(hosted, self.leader_lease()) => {
                Ok(())
            }
            // A new leader has no lease until a quorum acknowledged it: confirm that read with
            // a heartbeat round instead of failing it.
            ReadPolicy::LeaderLease => match confirm(openraft::ReadPolicy::LeaseRead).await {
                Err(ReadError::Unavailable { .. }) => {
                    confirm(openraft::ReadPolicy::ReadIndex).await
                }
                other => other,
            },
        }
    }

    /// How long a quorum acknowledgement keeps this host's leadership certain: openraft's
    /// leader lease, the maximum election timeout (followers refuse to vote for anyone else
    /// for that long after hearing from their leader).
    fn leader_lease(&self) -> Duration {
        self.inner.config.election_timeout.1
    }

    /// Runs `read` on this host's state machine of `group` (`None` if not hosted). Linearizable
    /// only right after a successful [`linearizable_read`](Self::linearizable_read); otherwise
    /// it may be stale.
    pub fn read_local<R>(&self, group: GroupId, read: impl FnOnce(&S) -> R) -> Option<R> {
        let hosted = self.group(group)?;
        let machine = hosted.machine.read();
        Some(read(&machine))
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

    /// Adds `node` (reachable at `address`) to `group` as a learner: it starts receiving the log
    /// (or a snapshot) but does not vote. The node must already [`host_group`](Self::host_group).
    /// Runs on the leader; returns once the change is committed. Idempotent.
    pub async fn add_learner(
        &self,
        group: GroupId,
        node: RaftNodeId,
        address: String,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        let known = status
            .voters
            .get(&node)
            .or_else(|| status.learners.get(&node));
        if let Some(known) = known {
            return if *known == address {
                Ok(())
            } else {
                Err(AdminError::Refused(format!(
                    "{node} is already a member at {known}, not {address}"
                )))
            };
        }
        let change = hosted
            .raft
            .add_learner(node, BasicNode::new(address), false);
        self.admin_result("add learner", change).await
    }

    /// Makes learner `node` a voter of `group`, after waiting until it has caught up with the
    /// leader's commit index. Runs on the leader. Idempotent.
    pub async fn promote(&self, group: GroupId, node: RaftNodeId) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        if status.voters.contains_key(&node) && !status.joint {
            return Ok(());
        }
        if !status.learners.contains_key(&node) && !status.voters.contains_key(&node) {
            return Err(AdminError::UnknownNode(node));
        }
        self.wait_caught_up(&hosted, node, status.committed_index)
            .await?;
        let change = hosted
            .raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node])), false);
        self.admin_result("promote", change).await
    }

    /// Sets the voters of `group` to exactly `voters` (joint consensus under the hood); voters
    /// left out are removed from the group. New voters must be learners already. Runs on the
    /// leader. Idempotent.
    pub async fn change_voters(
        &self,
        group: GroupId,
        voters: BTreeSet<RaftNodeId>,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        let current: BTreeSet<RaftNodeId> = status.voters.keys().copied().collect();
        if current == voters && !status.joint {
            return Ok(());
        }
        if let Some(unknown) = voters
            .iter()
            .find(|node| !status.voters.contains_key(node) && !status.learners.contains_key(node))
        {
            return Err(AdminError::UnknownNode(*unknown));
        }
        for node in voters.difference(&current) {
            self.wait_caught_up(&hosted, *node, status.committed_index)
                .await?;
        }
        let change = hosted
            .raft
            .change_membership(ChangeMembers::ReplaceAllVoters(voters), false);
        self.admin_result("change voters", change).await
    }

    /// Moves leadership of `group` to voter `to` and waits until `to` leads. Runs on the current
    /// leader (or anywhere once `to` already leads). Idempotent.
    pub async fn transfer_leadership(
        &self,
        group: GroupId,
        to: RaftNodeId,
    ) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let status = status_of(&hosted);
        if status.leader.as_ref().map(|(id, _)| *id) == Some(to) {
            return Ok(());
        }
        if status.role != Role::Leader {
            return Err(AdminError::NotLeader {
                leader: status.leader,
            });
        }
        if !status.voters.contains_key(&to) {
            return Err(AdminError::UnknownNode(to));
        }
        let deadline = Instant::now() + self.inner.config.admin_timeout;
        let mut last_trigger: Option<Instant> = None;
        loop {
            let status = status_of(&hosted);
            if status.leader.as_ref().map(|(id, _)| *id) == Some(to) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AdminError::Timeout {
                    operation: "transfer leadership",
                });
            }
            // Re-trigger now and then: a transfer can be lost if the target was briefly behind.
            let due = last_trigger.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
            if status.role == Role::Leader && due {
                // Before the trigger: no lease read may start on the metrics' word after it.
                hosted
                    .transfer_started_in_term
                    .store(status.term, Ordering::Release);
                hosted
                    .raft
                    .trigger()
                    .transfer_leader(to)
                    .await
                    .map_err(|_| AdminError::ShuttingDown)?;
                last_trigger = Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Removes `node` (voter or learner) from `group`. Runs on the leader, which refuses to remove
    /// itself: transfer leadership first. Idempotent. Afterwards the removed member should
    /// [`stop_group`](Self::stop_group).
    pub async fn remove_replica(&self, group: GroupId, node: RaftNodeId) -> Result<(), AdminError> {
        let hosted = self.admin_group(group)?;
        let _serial = hosted.membership_change.lock().await;
        let status = self.leader_status(&hosted)?;
        if node == self.inner.id {
            return Err(AdminError::RemovingLeader(node));
        }
        let change = if status.voters.contains_key(&node) {
            ChangeMembers::RemoveVoters(BTreeSet::from([node]))
        } else if status.learners.contains_key(&node) {
            ChangeMembers::RemoveNodes(BTreeSet::from([node]))
        } else {
            return Ok(());
        };
        let change = hosted.raft.change_membership(change, false);
        self.admin_result("remove replica", change).await
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

    fn admin_group(&self, group: GroupId) -> Result<Arc<Group<S>>, AdminError> {
        if self.shutting_down() {
            return Err(AdminError::ShuttingDown);
        }
        self.group(group).ok_or(AdminError::GroupNotHosted(group))
    }

    fn leader_status(&self, hosted: &Group<S>) -> Result<GroupStatus, AdminError> {
        let status = status_of(hosted);
        if status.role == Role::Leader {
            Ok(status)
        } else {
            Err(AdminError::NotLeader {
                leader: status.leader,
            })
        }
    }

    /// Waits until `node` holds the log up to `index` (so promoting it cannot stall commits).
    async fn wait_caught_up(
        &self,
        hosted: &Group<S>,
        node: RaftNodeId,
        index: Option<u64>,
    ) -> Result<(), AdminError> {
        let deadline = Instant::now() + self.inner.config.admin_timeout;
        loop {
            let status = self.leader_status(hosted)?;
            let matched = status.replication.get(&node).copied().flatten();
            if matched >= index {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AdminError::Timeout {
                    operation: "learner catch-up",
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn admin_result<T>(
        &self,
        operation: &'static str,
        change: impl Future<Output = Result<T, RaftError<RaftTypes, ClientWriteError<RaftTypes>>>>,
    ) -> Result<(), AdminError> {
        match tokio::time::timeout(self.inner.config.admin_timeout, change).await {
            Err(_) => Err(AdminError::Timeout { operation }),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))) => {
                Err(AdminError::NotLeader {
                    leader: leader_hint(&forward),
                })
            }
            Ok(Err(RaftError::APIError(error))) => Err(AdminError::Refused(error.to_string())),
            Ok(Err(RaftError::Fatal(_))) => Err(AdminError::ShuttingDown),
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

/// The lease read of openraft's core (`ensure_linearizable(LeaseRead)`), decided from the
/// metrics the core publishes instead of a round trip through the core task: that round trip
/// cost GET about a fifth of its throughput. Every check errs on the safe side, and a `false`
/// sends the read through openraft, which decides for itself:
/// - leader, and not handing leadership over (openraft refuses reads during a transfer);
/// - a quorum acknowledged this leader less than a lease ago (metrics publish an older
///   acknowledgement at worst, never a newer one);
/// - an entry this leader proposed is applied here: the first one it appended on election is
///   applied, and with it everything earlier leaders committed (leaders are never restored from
///   disk after a restart, so that entry really was committed in this leadership). Writes this
///   leader acknowledged were applied before their reply, so the local state holds every
///   completed write.
fn lease_valid_in_metrics<S: StateMachine>(hosted: &Group<S>, lease: Duration) -> bool {
    let metrics = hosted.raft.metrics();
    let metrics = metrics.borrow_watched();
    let term = metrics.current_term;
    metrics.state == ServerState::Leader
        && hosted.transfer_started_in_term.load(Ordering::Acquire) != term
        && metrics
            .last_applied
            .as_ref()
            .is_some_and(|applied| applied.leader_id == metrics.vote.leader_id)
        && metrics
            .last_quorum_acked
            .as_ref()
            .is_some_and(|acked| openraft::Instant::elapsed(&**acked) < lease)
}

/// Every heartbeat interval, makes every group this host leads send its heartbeats at the same
/// moment (openraft's own heartbeats are off): each group's Raft instance ticks on its own
/// phase, so left alone 64 groups send 64 separate messages per peer per interval; sent
/// together, the transport's writer puts all of them to one peer into one write, and the peer
/// reads them with one read.
async fn send_heartbeats_together<S: StateMachine>(host: Weak<HostInner<S>>) {
    let Some(interval) = host.upgrade().map(|inner| inner.config.heartbeat_interval) else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = host.upgrade() else { return };
        if *inner.shutdown.borrow() {
            return;
        }
        let leading: Vec<Arc<Group<S>>> = inner
            .groups
            .read()
            .values()
            .filter(|hosted| hosted.raft.metrics().borrow_watched().state == ServerState::Leader)
            .cloned()
            .collect();
        drop(inner);
        for hosted in leading {
            // Returns once the command is queued to the group's core task.
            let _ = hosted.raft.trigger().heartbeat().await;
        }
    }
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

impl<S: StateMachine> RequestHandler for HostInner<S> {
    fn handle(
        &self,
        group: GroupId,
        target: RaftNodeId,
        request: Incoming,
    ) -> Pin<Box<dyn Future<Output = Result<ResponseBody, RemoteFailure>> + Send + '_>> {
        Box::pin(async move {
            if target != self.id {
                return Err(RemoteFailure::WrongTarget { actual: self.id });
            }
            let hosted = self
                .groups
                .read()
                .get(&group)
                .cloned()
                .ok_or(RemoteFailure::GroupNotHosted)?;
            let raft = &hosted.raft;
            let failed = |error: &dyn std::fmt::Display| RemoteFailure::Raft(error.to_string());
            match request {
                Incoming::Rpc(RequestBody::AppendEntries(request)) => {
                    // A leader's commit index covers everything the group ever committed only
                    // once it has committed an entry of its own leadership (a new leader may
                    // first send the older index it found on its disk).
                    let complete_commit = request
                        .leader_commit
                        .as_ref()
                        .filter(|log_id| log_id.leader_id == request.vote.leader_id)
                        .map(|log_id| log_id.index);
                    let response = raft
                        .append_entries(request)
                        .await
                        .map_err(|error| failed(&error))?;
                    // Any answer but "your vote is stale" means a current leader reached us
                    // (even when the logs do not match yet, openraft took its commit index).
                    if let Some(commit) = complete_commit
                        && !matches!(response, AppendEntriesResponse::HigherVote(_))
                    {
                        // Only the first counts: see `GroupStatus::catch_up_target`.
                        let _ = hosted.catch_up_target.set(commit);
                    }
                    Ok(ResponseBody::AppendEntries(response))
                }
                Incoming::Rpc(RequestBody::Vote(request)) => raft
                    .vote(request)
                    .await
                    .map(ResponseBody::Vote)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::PreVote(request)) => raft
                    .pre_vote(request)
                    .await
                    .map(ResponseBody::Vote)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::TransferLeader(request)) => raft
                    .handle_transfer_leader(request)
                    .await
                    .map(ResponseBody::TransferLeader)
                    .map_err(|error| failed(&error)),
                Incoming::Rpc(RequestBody::SnapshotChunk { .. }) => Err(RemoteFailure::BadRequest(
                    "snapshot pieces are reassembled by the connection".to_owned(),
                )),
                Incoming::FullSnapshot { vote, mut snapshot } => {
                    // Checked before openraft sees it: a snapshot damaged on its way is refused
                    // back to the leader, which sends it again, whereas an install error would
                    // stop this replica's group as a storage failure.
                    let machine = Arc::clone(&hosted.machine);
                    let checked = tokio::task::spawn_blocking(move || {
                        check_image(&machine, &mut snapshot.snapshot, Some(&snapshot.meta))
                            .map(|_| snapshot)
                    })
                    .await;
                    let snapshot = match checked {
                        Ok(Ok(snapshot)) => snapshot,
                        Ok(Err(error)) => {
                            return Err(RemoteFailure::BadRequest(format!(
                                "the snapshot received is damaged: {error}"
                            )));
                        }
                        Err(error) => {
                            return Err(RemoteFailure::Storage(format!(
                                "checking a received snapshot failed: {error}"
                            )));
                        }
                    };
                    raft.install_full_snapshot(vote, snapshot)
                        .await
                        .map(ResponseBody::SnapshotInstalled)
                        .map_err(|error| failed(&error))
                }
            }
        })
    }

    fn snapshot_sink(&self, group: GroupId) -> Result<SnapshotSink, RemoteFailure> {
        if !self.groups.read().contains_key(&group) {
            return Err(RemoteFailure::GroupNotHosted);
        }
        match &self.config.durability {
            Durability::InMemory => Ok(SnapshotSink::in_memory()),
            Durability::Directory { path, .. } => SnapshotSink::temporary_file(
                &group_directory(path, group),
                "receiving",
            )
            .map_err(|error| {
                RemoteFailure::Storage(format!("cannot store a snapshot being received: {error}"))
            }),
        }
    }
}
