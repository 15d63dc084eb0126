//! The contract between the replication core and what it replicates.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A deterministic state machine replicated by one Raft group (for ringcache: one partition's
/// keyspace).
///
/// Every replica applies the same committed commands in the same order, so `apply` must depend on
/// nothing but the state and the command: no clocks, no randomness, no local memory pressure.
/// That is why ringcache's write commands carry absolute expiry times decided by the leader.
pub trait StateMachine: Send + Sync + 'static {
    /// A write, as proposed by the leader and stored in the Raft log. Serialized with bincode.
    type Command: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What applying a command returns to the proposer (never sent over the network).
    type Response: Send + Sync + 'static;

    /// Applies one committed command. Called once per committed entry, in log order.
    fn apply(&mut self, command: &Self::Command) -> Self::Response;

    /// Serializes the whole state, for a snapshot (log compaction and catching up new replicas).
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with a snapshot made by [`StateMachine::snapshot`].
    ///
    /// On error the replica cannot continue (the snapshot is how it catches up), so the error is
    /// surfaced as a storage failure of the group.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError>;
}

/// A snapshot that [`StateMachine::restore`] could not decode.
#[derive(Debug, thiserror::Error)]
#[error("cannot restore snapshot: {0}")]
pub struct RestoreError(pub String);
