//! Tunables of a [`ReplicationHost`](crate::ReplicationHost).

use std::path::PathBuf;
use std::time::Duration;

/// How linearizable reads are confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPolicy {
    /// The leader confirms with a quorum heartbeat round that it is still leader (batched with the
    /// reads in flight). Safe under process pauses and clock jumps. The default.
    #[default]
    ReadIndex,
    /// The leader answers from its lease (a quorum acknowledged it within the election timeout).
    /// Saves the round trip but assumes bounded clock drift and no long pauses.
    LeaderLease,
}

/// Where Raft state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// Nothing on disk: a restart loses all Raft state (tests, or a cache that accepts it).
    InMemory,
    /// Vote, log and snapshots under this directory (the node's `--data-dir`).
    Directory {
        /// The data directory.
        path: PathBuf,
        /// Call `fsync` after each log append and vote change. Off by default for a cache: a
        /// process crash loses nothing (the page cache survives), only a machine crash can lose
        /// the tail of the log, and acknowledged data is lost only if a majority of a partition's
        /// replicas lose their machines at once. On, every write pays a disk flush.
        fsync: bool,
    },
}

/// Settings of one host; [`ReplicationConfig::new`] gives defaults suited to multi-Raft on small
/// machines (longer heartbeats than openraft's defaults, because every group heartbeats).
#[derive(Debug, Clone)]
pub struct ReplicationConfig {
    /// Where Raft state is kept.
    pub durability: Durability,
    /// Interval between leader heartbeats of one group.
    pub heartbeat_interval: Duration,
    /// A follower that hears no leader for a random time in this range starts an election.
    pub election_timeout: (Duration, Duration),
    /// How long a proposal may wait for commit before it is reported as outcome unknown.
    pub propose_timeout: Duration,
    /// How long a linearizable read may wait for its confirmation.
    pub read_timeout: Duration,
    /// How long admin operations (membership changes, leadership transfer) may take.
    pub admin_timeout: Duration,
    /// How reads are confirmed.
    pub read_policy: ReadPolicy,
    /// Build a snapshot (and compact the log) after this many entries since the last one.
    pub snapshot_every_entries: u64,
    /// Timeout of one Raft message round trip between hosts.
    pub rpc_timeout: Duration,
    /// Largest encoded command a proposal may carry; larger ones are refused before they enter
    /// the log ([`ProposeError::TooLarge`](crate::ProposeError::TooLarge)). A command in the log
    /// must fit in one cluster frame, or the group could never replicate it again; at most
    /// [`MAX_COMMAND_LEN_LIMIT`].
    pub max_command_len: usize,
    /// Authenticates every cluster-port connection, both ways, before any frame
    /// ([`crate::handshake`]); `None` accepts anyone who can connect (tests, trusted networks).
    pub cluster_secret: Option<crate::ClusterSecret>,
    /// Mutual TLS on every cluster-port connection ([`crate::ClusterTls`]); `None`: plain TCP.
    pub cluster_tls: Option<std::sync::Arc<dyn crate::ClusterTls>>,
}

/// The largest `max_command_len` allowed: one command plus its append request's framing must
/// fit in a cluster frame (64 MiB).
pub const MAX_COMMAND_LEN_LIMIT: usize = crate::codec::MAX_FRAME_LEN - (1 << 20);

/// The default `max_command_len`: 32 MiB.
pub const DEFAULT_MAX_COMMAND_LEN: usize = 32 << 20;

impl ReplicationConfig {
    /// Defaults for the given durability.
    pub fn new(durability: Durability) -> Self {
        ReplicationConfig {
            durability,
            heartbeat_interval: Duration::from_millis(100),
            // openraft makes a follower wait its leader lease (= the maximum election timeout)
            // plus a random election timeout after the last heartbeat before it campaigns: with
            // 500–1000 ms that was 1.5–2 s of silence before an election even started, so writes
            // could not resume within 2 s of a leader crash. 300–600 ms: 0.9–1.2 s, still many
            // heartbeat intervals.
            election_timeout: (Duration::from_millis(300), Duration::from_millis(600)),
            propose_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            admin_timeout: Duration::from_secs(30),
            read_policy: ReadPolicy::ReadIndex,
            snapshot_every_entries: 5000,
            rpc_timeout: Duration::from_secs(2),
            max_command_len: DEFAULT_MAX_COMMAND_LEN,
            cluster_secret: None,
            cluster_tls: None,
        }
    }
}
