//! The contract between the replication core and what it replicates.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A snapshot chunk size to aim for, in encoded bytes. A chunk is the unit that is checksummed,
/// held in memory at once while a snapshot is built, sent or installed, so it bounds the memory a
/// snapshot costs beyond the state itself. A chunk holding one large value may be bigger.
pub const SNAPSHOT_CHUNK_TARGET: usize = 1 << 20;

/// A deterministic state machine replicated by one Raft group (for ringcache: one partition's
/// keyspace).
///
/// Every replica applies the same committed commands in the same order, so `apply` must depend on
/// nothing but the state and the command: no clocks, no randomness, no local memory pressure.
/// That is why ringcache's write commands carry absolute expiry times decided by the leader.
///
/// Snapshots (log compaction and catching up new replicas) are streams of chunks: the state
/// machine encodes its state as a sequence of byte chunks, each decodable on its own, and restores
/// from such a sequence. The replication core checksums, stores and sends each chunk separately.
pub trait StateMachine: Send + Sync + 'static {
    /// A write, as proposed by the leader and stored in the Raft log. Serialized with bincode.
    type Command: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What applying a command returns to the proposer (never sent over the network).
    type Response: Send + Sync + 'static;
    /// A point-in-time copy of the state that encodes itself into snapshot chunks, one per item,
    /// in the order [`StateMachine::restore`] expects them.
    type SnapshotChunks: Iterator<Item = Result<Vec<u8>, SnapshotError>> + Send + 'static;

    /// Applies one committed command. Called once per committed entry, in log order.
    fn apply(&mut self, command: &Self::Command) -> Self::Response;

    /// Takes a point-in-time view of the whole state, for a snapshot.
    ///
    /// Called under the group's read lock, so that the view pairs exactly with the last applied
    /// entry: copy what the snapshot needs and nothing more. Encoding belongs in the returned
    /// iterator, which runs after the lock is released, so applying commands does not wait for
    /// it. Each item should be about [`SNAPSHOT_CHUNK_TARGET`] bytes; an empty state may yield no
    /// chunk at all.
    fn snapshot(&self) -> Result<Self::SnapshotChunks, SnapshotError>;

    /// Checks that `chunk` (one item of some [`StateMachine::snapshot`]) decodes and fits this
    /// state machine, without changing anything.
    ///
    /// Every chunk of a snapshot is checked before [`StateMachine::restore`] starts, so that a
    /// corrupt or foreign snapshot is refused while the state is still intact.
    fn check_chunk(&self, chunk: &[u8]) -> Result<(), RestoreError>;

    /// Replaces the whole state with the snapshot whose chunks `chunks` yields in order (each
    /// already accepted by [`StateMachine::check_chunk`]).
    ///
    /// An error from `chunks` means the snapshot could not be read again (a failing disk, say);
    /// return it. The state is partial then, and the group stops with a storage failure: the
    /// snapshot is how the replica catches up, so it cannot continue without one.
    fn restore(
        &mut self,
        chunks: &mut dyn Iterator<Item = Result<Vec<u8>, RestoreError>>,
    ) -> Result<(), RestoreError>;
}

/// A snapshot that could not be restored: the reason, with what to do about it where there is
/// something to do.
#[derive(Debug, thiserror::Error)]
#[error("cannot restore snapshot: {0}")]
pub struct RestoreError(pub String);

/// A snapshot that could not be taken or encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot take snapshot: {0}")]
pub struct SnapshotError(pub String);
