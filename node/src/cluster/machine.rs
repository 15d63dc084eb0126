//! [`PartitionMachine`]: one partition's Raft state machine. The partition's keys live in the
//! node's shared keyspace (so every read command works unchanged); the machine applies committed
//! commands to that slot range only.

use std::sync::Weak;

use bytes::Bytes;
use ringcache_placement::PartitionCount;
use ringcache_replication::{RestoreError, SnapshotError, StateMachine};
use serde::{Deserialize, Serialize};

use super::partition_snapshot::{PartitionSnapshot, decode_chunk};
use crate::command::Write;
use crate::protocol::Frame;
use crate::shared::Shared;
use crate::store::{DeleteReason, Entry, Keyspace, WriteKind, WriteOp, WriteOutcome, key_slot};

/// A committed entry of a partition's log.
///
/// Client writes are replicated as the parsed command plus the leader's clock: every replica
/// applies it to the same state at the same logical time, so they stay identical, and the
/// proposer gets the exact reply Redis would give. Expiry and eviction are decided by the leader
/// and replicated as explicit deletes. Variants are numbered by position in the log: append, never
/// reorder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartitionCommand {
    /// A client's write command as its arguments, as members before the parsed [`Write`] wrote
    /// it; still applied, so a log written by an older member replays.
    Client {
        now_ms: u64,
        resp3: bool,
        args: Vec<serde_bytes::ByteBuf>,
    },
    /// Keys the leader saw expired at `now_ms`: each is deleted if still expired then (a write
    /// may have revived it since).
    ExpireDue {
        now_ms: u64,
        keys: Vec<serde_bytes::ByteBuf>,
    },
    /// Keys the leader evicts to stay within `maxmemory`.
    Evict { keys: Vec<serde_bytes::ByteBuf> },
    /// FLUSHALL / FLUSHDB, for this partition's slots.
    Flush,
    /// A client's write command, parsed and checked by the leader, with the leader's clock.
    Write { now_ms: u64, write: Write },
}

/// The state machine of one partition hosted on this node.
pub struct PartitionMachine {
    partition: u32,
    partitions: PartitionCount,
    /// Weak: the shared state owns the replication host, which owns this machine.
    shared: Weak<Shared>,
}

impl PartitionMachine {
    pub fn new(partition: u32, partitions: PartitionCount, shared: Weak<Shared>) -> Self {
        PartitionMachine {
            partition,
            partitions,
            shared,
        }
    }

    fn slots(&self) -> std::ops::Range<u16> {
        self.partitions.slots_of(self.partition)
    }
}

/// Applies a client's write at the leader's clock.
fn apply_write(keyspace: &Keyspace, write: &Write, now_ms: u64) -> Frame {
    match keyspace.with_keys(write.keys().iter(), now_ms, |db| write.apply(db)) {
        Ok(frame) => frame,
        Err(error) => Frame::Error(error.to_string()),
    }
}

impl StateMachine for PartitionMachine {
    type Command = PartitionCommand;
    /// The reply for the proposer; replicas drop it without encoding it.
    type Response = Frame;
    type SnapshotChunks = PartitionSnapshot;

    fn apply(&mut self, command: &PartitionCommand) -> Frame {
        let Some(shared) = self.shared.upgrade() else {
            return Frame::Error("ERR shutting down".to_owned());
        };
        let keyspace = &shared.keyspace;
        match command {
            PartitionCommand::Write { now_ms, write } => apply_write(keyspace, write, *now_ms),
            PartitionCommand::Client { now_ms, args, .. } => {
                let args: Vec<Bytes> = args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect();
                match crate::command::parse_write(&args, *now_ms) {
                    Ok(write) => apply_write(keyspace, &write, *now_ms),
                    // Every replica rejects it alike.
                    Err(error) => Frame::Error(error.to_string()),
                }
            }
            PartitionCommand::ExpireDue { now_ms, keys } => {
                let expired = keys
                    .iter()
                    .filter(|key| keyspace.with_key(key, |store| store.expire_if_due(key, *now_ms)))
                    .count();
                Frame::Integer(expired as i64)
            }
            PartitionCommand::Evict { keys } => {
                let evicted = keys
                    .iter()
                    .filter(|key| {
                        let delete = WriteOp {
                            now_ms: 0,
                            kind: WriteKind::Delete {
                                key: Bytes::copy_from_slice(key),
                                reason: DeleteReason::Evicted,
                            },
                        };
                        matches!(keyspace.apply(delete), Ok(WriteOutcome::Deleted(Some(_))))
                    })
                    .count();
                Frame::Integer(evicted as i64)
            }
            PartitionCommand::Flush => {
                let removed = keyspace.remove_slots(self.slots());
                Frame::Integer(removed as i64)
            }
        }
    }

    /// Copies the partition's entries (expired ones included: their deletion is still to come
    /// through the log); encoding happens as the chunks are taken.
    fn snapshot(&self) -> Result<PartitionSnapshot, SnapshotError> {
        let Some(shared) = self.shared.upgrade() else {
            // An empty snapshot here would be saved as the partition's state: refuse instead.
            return Err(SnapshotError("the node is shutting down".to_owned()));
        };
        Ok(PartitionSnapshot::new(
            shared.keyspace.entries_in(self.slots()),
        ))
    }

    /// Decodes the chunk and checks that every key belongs to this partition: restoring a key
    /// of another partition would plant it among keys this machine does not own.
    fn check_chunk(&self, chunk: &[u8]) -> Result<(), RestoreError> {
        let slots = self.slots();
        for entry in decode_chunk(chunk)? {
            entry.to_entry()?;
            let slot = key_slot(entry.key);
            if !slots.contains(&slot) {
                return Err(RestoreError(format!(
                    "a key of slot {slot} in a snapshot of partition {} (slots {}..{}): the \
                     snapshot belongs to another partition or another partition count",
                    self.partition, slots.start, slots.end
                )));
            }
        }
        Ok(())
    }

    fn restore(
        &mut self,
        chunks: &mut dyn Iterator<Item = Result<Vec<u8>, RestoreError>>,
    ) -> Result<(), RestoreError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(RestoreError("the node is shutting down".to_owned()));
        };
        shared.keyspace.remove_slots(self.slots());
        for chunk in chunks {
            let chunk = chunk?;
            let entries = decode_chunk(&chunk)?
                .iter()
                .map(|entry| entry.to_entry())
                .collect::<Result<Vec<Entry>, RestoreError>>()?;
            shared.keyspace.insert_entries(entries);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;

    const PARTITIONS: u32 = 4;

    fn node() -> Arc<Shared> {
        let mut config = Config::defaults();
        config.cluster_enabled = true;
        Arc::new(Shared::new(config, 0, None))
    }

    fn machine(shared: &Arc<Shared>, partition: u32) -> PartitionMachine {
        let partitions = PartitionCount::new(PARTITIONS).expect("partition count");
        PartitionMachine::new(partition, partitions, Arc::downgrade(shared))
    }

    /// Entries of `partition`, sorted by key.
    fn entries(shared: &Shared, partition: u32) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
        let slots = machine_slots(partition);
        let mut entries: Vec<_> = shared
            .keyspace
            .entries_in(slots)
            .into_iter()
            .map(|entry| {
                (
                    entry.key().to_vec(),
                    entry.value().to_vec(),
                    entry.expire_at_ms(),
                )
            })
            .collect();
        entries.sort();
        entries
    }

    fn machine_slots(partition: u32) -> std::ops::Range<u16> {
        PartitionCount::new(PARTITIONS)
            .expect("partition count")
            .slots_of(partition)
    }

    /// Inserts `keys` keys of 2 KiB values, spread over every partition, a third with expiries.
    fn fill(shared: &Shared, keys: usize) {
        let value = vec![b'x'; 2048];
        shared.keyspace.insert_entries((0..keys).map(|index| {
            let expiry = if index % 3 == 0 {
                1_000_000 + index as u64
            } else {
                0
            };
            Entry::new(format!("key:{index}").as_bytes(), &value, expiry, 0)
        }));
    }

    fn chunks_of(machine: &PartitionMachine) -> Vec<Vec<u8>> {
        machine
            .snapshot()
            .expect("snapshot")
            .collect::<Result<_, _>>()
            .expect("encode")
    }

    #[test]
    fn a_partition_of_several_chunks_round_trips_exactly() {
        let source = node();
        fill(&source, 4000);
        let partition = 1;
        let expected = entries(&source, partition);
        let chunks = chunks_of(&machine(&source, partition));
        assert!(chunks.len() > 1, "only {} chunk(s)", chunks.len());

        let target = node();
        // Stale keys of the partition go; keys of other partitions stay.
        fill(&target, 50);
        let others_before = entries(&target, 0);
        let mut restoring = machine(&target, partition);
        for chunk in &chunks {
            restoring.check_chunk(chunk).expect("check");
        }
        restoring
            .restore(&mut chunks.into_iter().map(Ok))
            .expect("restore");
        assert_eq!(entries(&target, partition), expected);
        assert_eq!(entries(&target, 0), others_before);
    }

    #[test]
    fn chunks_of_another_partition_or_undecodable_are_refused_without_changes() {
        let shared = node();
        fill(&shared, 400);
        let before: Vec<_> = (0..PARTITIONS).map(|p| entries(&shared, p)).collect();
        let foreign = chunks_of(&machine(&shared, 2));
        let checking = machine(&shared, 1);
        let error = checking
            .check_chunk(&foreign[0])
            .expect_err("foreign chunk");
        assert!(error.0.contains("another partition"), "{error}");
        let own = chunks_of(&checking);
        let truncated = &own[0][..own[0].len() - 5];
        assert!(checking.check_chunk(truncated).is_err());
        assert!(checking.check_chunk(&[]).is_err());
        let after: Vec<_> = (0..PARTITIONS).map(|p| entries(&shared, p)).collect();
        assert_eq!(after, before);
    }

    #[test]
    fn a_snapshot_is_refused_rather_than_empty_when_the_node_is_gone() {
        let shared = node();
        let machine = machine(&shared, 0);
        drop(shared);
        assert!(machine.snapshot().is_err());
    }
}
