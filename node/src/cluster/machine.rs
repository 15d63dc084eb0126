//! [`PartitionMachine`]: one partition's Raft state machine. The partition's keys live in the
//! node's shared keyspace (so every read command works unchanged); the machine applies committed
//! commands to that slot range only.

use std::sync::Weak;

use bytes::Bytes;
use ringcache_placement::PartitionCount;
use ringcache_replication::{RestoreError, StateMachine};
use serde::{Deserialize, Serialize};

use crate::protocol::Protocol;
use crate::shared::Shared;
use crate::store::{DeleteReason, Entry, WriteKind, WriteOp, WriteOutcome};

/// A committed entry of a partition's log.
///
/// Client writes are replicated as the command itself plus the leader's clock: every replica runs
/// the same handler on the same state at the same logical time, so they stay identical, and the
/// proposer gets the exact reply Redis would give. Expiry and eviction are decided by the leader
/// and replicated as explicit deletes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartitionCommand {
    /// A client's write command (already checked by the leader).
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
}

/// A snapshot entry: key, value, absolute expiry (0 = none).
type SnapshotEntry = (serde_bytes::ByteBuf, serde_bytes::ByteBuf, u64);

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

impl StateMachine for PartitionMachine {
    type Command = PartitionCommand;
    /// The RESP reply for the proposer.
    type Response = Bytes;

    fn apply(&mut self, command: &PartitionCommand) -> Bytes {
        let Some(shared) = self.shared.upgrade() else {
            return Bytes::from_static(b"-ERR shutting down\r\n");
        };
        let keyspace = &shared.keyspace;
        match command {
            PartitionCommand::Client {
                now_ms,
                resp3,
                args,
            } => {
                let args: Vec<Bytes> = args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect();
                let protocol = if *resp3 {
                    Protocol::Resp3
                } else {
                    Protocol::Resp2
                };
                crate::command::execute_replicated(&shared, &args, *now_ms, protocol)
            }
            PartitionCommand::ExpireDue { now_ms, keys } => {
                let expired = keys
                    .iter()
                    .filter(|key| keyspace.with_key(key, |store| store.expire_if_due(key, *now_ms)))
                    .count();
                Bytes::from(format!(":{expired}\r\n"))
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
                Bytes::from(format!(":{evicted}\r\n"))
            }
            PartitionCommand::Flush => {
                let removed = keyspace.remove_slots(self.slots());
                Bytes::from(format!(":{removed}\r\n"))
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        let entries: Vec<SnapshotEntry> = shared
            .keyspace
            .entries_in(self.slots())
            .into_iter()
            .map(|entry| {
                (
                    serde_bytes::ByteBuf::from(entry.key()),
                    serde_bytes::ByteBuf::from(entry.value()),
                    entry.expire_at_ms(),
                )
            })
            .collect();
        bincode::serialize(&entries).unwrap_or_default()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(RestoreError("the node is shutting down".to_owned()));
        };
        let entries: Vec<SnapshotEntry> = if snapshot.is_empty() {
            Vec::new()
        } else {
            bincode::deserialize(snapshot).map_err(|error| RestoreError(error.to_string()))?
        };
        let slots = self.slots();
        let entries = entries
            .into_iter()
            .map(|(key, value, expire_at)| Entry::new(&key, &value, expire_at, 0))
            .collect();
        shared.keyspace.replace_slots(slots, entries);
        Ok(())
    }
}
