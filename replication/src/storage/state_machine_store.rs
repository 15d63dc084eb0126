//! Adapts a ringcache [`StateMachine`] to openraft: decodes committed commands, tracks what was
//! applied, and builds, saves and installs snapshots.
//!
//! Snapshot file (`<group dir>/snapshot`, replaced atomically): one framed record holding the
//! snapshot metadata and the state machine's bytes, checksummed as a whole.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::StateMachine;
use crate::raft_types::{ApplyOutput, LogId, RaftTypes, Snapshot, SnapshotMeta, StoredMembership};
use crate::storage::record;

const SNAPSHOT_FILE: &str = "snapshot";

/// What the snapshot file holds.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    #[serde(with = "crate::raft_types::bytes")]
    data: Vec<u8>,
}

/// Where the latest snapshot is kept.
enum SnapshotPlace {
    Memory(Mutex<Option<(SnapshotMeta, Arc<Vec<u8>>)>>),
    File { directory: PathBuf, fsync: bool },
}

/// What was applied last, updated under the state machine's write lock so that a snapshot (taken
/// under its read lock) always pairs the state with the right log position.
#[derive(Default, Clone)]
struct Applied {
    log_id: Option<LogId>,
    membership: StoredMembership,
}

struct Shared<S> {
    machine: Arc<RwLock<S>>,
    applied: Mutex<Applied>,
    snapshot: SnapshotPlace,
}

/// The openraft state machine of one group. Clones share everything (one is the snapshot builder).
pub(crate) struct StateMachineStore<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for StateMachineStore<S> {
    fn clone(&self) -> Self {
        StateMachineStore {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: StateMachine> StateMachineStore<S> {
    /// Wraps `machine`. With a directory, restores the latest saved snapshot into it first.
    pub(crate) fn open(
        machine: Arc<RwLock<S>>,
        directory: Option<(PathBuf, bool)>,
    ) -> io::Result<Self> {
        let mut applied = Applied::default();
        let snapshot = match directory {
            None => SnapshotPlace::Memory(Mutex::new(None)),
            Some((directory, fsync)) => {
                std::fs::create_dir_all(&directory)?;
                let stored: Option<StoredSnapshot> =
                    record::read_file(&directory.join(SNAPSHOT_FILE))?;
                if let Some(stored) = stored {
                    machine
                        .write()
                        .restore(&stored.data)
                        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                    applied = Applied {
                        log_id: stored.meta.last_log_id,
                        membership: stored.meta.last_membership.clone(),
                    };
                }
                SnapshotPlace::File { directory, fsync }
            }
        };
        Ok(StateMachineStore {
            shared: Arc::new(Shared {
                machine,
                applied: Mutex::new(applied),
                snapshot,
            }),
        })
    }

    fn save_snapshot(&self, meta: &SnapshotMeta, data: Vec<u8>) -> io::Result<()> {
        match &self.shared.snapshot {
            SnapshotPlace::Memory(slot) => {
                *slot.lock() = Some((meta.clone(), Arc::new(data)));
                Ok(())
            }
            SnapshotPlace::File { directory, fsync } => {
                let stored = StoredSnapshot {
                    meta: meta.clone(),
                    data,
                };
                record::write_file_atomically(&directory.join(SNAPSHOT_FILE), &stored, *fsync)
            }
        }
    }

    fn load_snapshot(&self) -> io::Result<Option<Snapshot>> {
        match &self.shared.snapshot {
            SnapshotPlace::Memory(slot) => Ok(slot.lock().as_ref().map(|(meta, data)| Snapshot {
                meta: meta.clone(),
                snapshot: data.as_ref().clone(),
            })),
            SnapshotPlace::File { directory, .. } => {
                let stored: Option<StoredSnapshot> =
                    record::read_file(&directory.join(SNAPSHOT_FILE))?;
                Ok(stored.map(|stored| Snapshot {
                    meta: stored.meta,
                    snapshot: stored.data,
                }))
            }
        }
    }
}

impl<S: StateMachine> RaftSnapshotBuilder<RaftTypes> for StateMachineStore<S> {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (data, applied) = {
            let machine = self.shared.machine.read();
            let applied = self.shared.applied.lock().clone();
            (machine.snapshot(), applied)
        };
        let meta = SnapshotMeta {
            last_log_id: applied.log_id,
            last_membership: applied.membership,
        };
        self.save_snapshot(&meta, data.clone())?;
        Ok(Snapshot {
            meta,
            snapshot: data,
        })
    }
}

impl<S: StateMachine> RaftStateMachine<RaftTypes> for StateMachineStore<S> {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let applied = self.shared.applied.lock().clone();
        Ok((applied.log_id, applied.membership))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<RaftTypes>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let log_id = entry.log_id();
            let output = {
                let mut machine = self.shared.machine.write();
                let mut applied = self.shared.applied.lock();
                let output = match &entry.payload {
                    EntryPayload::Blank => ApplyOutput(None),
                    EntryPayload::Normal(command) => {
                        // Decoding depends only on the bytes, so every replica decides alike.
                        match bincode::deserialize::<S::Command>(&command.0) {
                            Ok(command) => {
                                let response: Box<dyn std::any::Any + Send + Sync> =
                                    Box::new(machine.apply(&command));
                                ApplyOutput(Some(Ok(response)))
                            }
                            Err(error) => ApplyOutput(Some(Err(error.to_string()))),
                        }
                    }
                    EntryPayload::Membership(membership) => {
                        applied.membership =
                            StoredMembership::new(Some(log_id), membership.clone());
                        ApplyOutput(None)
                    }
                };
                applied.log_id = Some(log_id);
                output
            };
            if let Some(responder) = responder {
                responder.send(output);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        {
            let mut machine = self.shared.machine.write();
            let mut applied = self.shared.applied.lock();
            machine
                .restore(&snapshot)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
            *applied = Applied {
                log_id: meta.last_log_id,
                membership: meta.last_membership.clone(),
            };
        }
        self.save_snapshot(meta, snapshot)
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        self.load_snapshot()
    }
}
