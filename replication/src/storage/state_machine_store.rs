//! Adapts a ringcache [`StateMachine`] to openraft: decodes committed commands, tracks what was
//! applied, and builds, saves and installs snapshots, chunk by chunk.
//!
//! A snapshot is kept as an *image* with this layout (little-endian), whether it is a file, a list
//! of buffers in memory mode, or the bytes sent to a follower:
//!
//! ```text
//!  "ringsnap"                     8 bytes of magic: an image of the old single-record
//!                                 format (whose first 4 bytes were its length) never has them
//!  u32 format version             2; any other version is refused with a clear error
//!  record: metadata               bincode of openraft's snapshot metadata (last log id, membership)
//!  record: chunk ...              zero or more chunks of the state machine, in order, each
//!                                 about SNAPSHOT_CHUNK_TARGET bytes and decodable on its own
//!  record: end                    u64 number of chunks, so that missing records are noticed
//!
//!  record = [u32 body length][u32 crc32 of body][body], body = [u8 kind][payload]
//!           kind: 1 metadata, 2 chunk, 3 end
//! ```
//!
//! The group's snapshot file is `<group dir>/snapshot`. A new image is written to a temporary
//! `snapshot.*.tmp` file beside it (built here or received from the leader) and renamed over it
//! once complete, with fsync of the file and the directory when `fsync` is on; temporary files
//! left by a crash are deleted when the group is opened.
//!
//! Memory: building holds a copy of the state's entries (taken under the state machine's read
//! lock, the one step that must pair with the applied log id) and one encoded chunk at a time;
//! sending, receiving and installing hold one chunk or one transport piece at a time (and in
//! memory mode, the image itself). Installing reads the image twice: first every chunk is checked
//! (checksum, decoding) while the state is untouched, then the state is replaced chunk by chunk.
//! An image received from a leader goes through that first pass once more on arrival, so that a
//! damaged one is refused back to the leader instead of failing the install.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use parking_lot::{Mutex, RwLock};

use super::snapshot_data::SnapshotData;
use super::snapshot_format::{encode_chunk, encode_end, encode_preamble};
use super::snapshot_sink::{SnapshotSink, TEMPORARY_PREFIX, TEMPORARY_SUFFIX};
use crate::raft_types::{ApplyOutput, LogId, RaftTypes, Snapshot, SnapshotMeta, StoredMembership};
use crate::{RestoreError, StateMachine};

const SNAPSHOT_FILE: &str = "snapshot";

/// Where snapshots are kept.
enum SnapshotPlace {
    Memory,
    File { directory: PathBuf, fsync: bool },
}

/// The latest kept snapshot.
struct CurrentSnapshot {
    meta: SnapshotMeta,
    /// Memory mode only: the image itself (a file-backed image is the snapshot file).
    buffers: Option<Arc<Vec<Vec<u8>>>>,
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
    place: SnapshotPlace,
    /// Held while a snapshot is kept, so that a build that started before an install and ends
    /// after it (openraft builds in a task of its own) never replaces the newer snapshot.
    current: Mutex<Option<CurrentSnapshot>>,
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
    /// Wraps `machine`. With a directory, restores the latest saved snapshot into it first (every
    /// chunk is checked before the state is touched).
    pub(crate) fn open(
        machine: Arc<RwLock<S>>,
        directory: Option<(PathBuf, bool)>,
    ) -> io::Result<Self> {
        let place = match directory {
            None => SnapshotPlace::Memory,
            Some((directory, fsync)) => {
                std::fs::create_dir_all(&directory)?;
                delete_temporary_files(&directory)?;
                SnapshotPlace::File { directory, fsync }
            }
        };
        let store = StateMachineStore {
            shared: Arc::new(Shared {
                machine,
                applied: Mutex::new(Applied::default()),
                place,
                current: Mutex::new(None),
            }),
        };
        if let SnapshotPlace::File { directory, .. } = &store.shared.place {
            match SnapshotData::open_file(&directory.join(SNAPSHOT_FILE), false) {
                Ok(mut data) => {
                    let meta = store.restore_image(&mut data, None)?;
                    *store.shared.current.lock() = Some(CurrentSnapshot {
                        meta,
                        buffers: None,
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(store)
    }

    /// Encodes `chunks` (the state at `meta`) into a new image, one chunk at a time, and keeps it.
    fn write_image(
        &self,
        meta: &SnapshotMeta,
        chunks: S::SnapshotChunks,
    ) -> io::Result<SnapshotData> {
        let mut sink = match &self.shared.place {
            SnapshotPlace::Memory => SnapshotSink::in_memory(),
            SnapshotPlace::File { directory, .. } => {
                SnapshotSink::temporary_file(directory, "building")?
            }
        };
        sink.write(encode_preamble(meta)?)?;
        let mut count = 0u64;
        for chunk in chunks {
            let chunk = chunk.map_err(io::Error::other)?;
            sink.write(encode_chunk(&chunk)?)?;
            count += 1;
        }
        sink.write(encode_end(count)?)?;
        let mut data = sink.finish()?;
        self.keep(meta, &mut data)?;
        Ok(data)
    }

    /// Checks every chunk of `data`, then replaces the state with it and records it as applied.
    /// With `expected`, the image must hold the state at that metadata. Returns the metadata.
    fn restore_image(
        &self,
        data: &mut SnapshotData,
        expected: Option<&SnapshotMeta>,
    ) -> io::Result<SnapshotMeta> {
        // First pass, the state untouched: a corrupt or foreign image fails here.
        let meta = check_image(&self.shared.machine, data, expected)?;
        let name = data.name();
        // Second pass, under the write lock so that nothing applies or snapshots in between.
        let mut machine = self.shared.machine.write();
        let mut applied = self.shared.applied.lock();
        let mut chunks = data
            .chunks()?
            .map(|chunk| chunk.map_err(|error| RestoreError(error.to_string())));
        machine.restore(&mut chunks).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("snapshot {name}: {error}"),
            )
        })?;
        *applied = Applied {
            log_id: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        Ok(meta)
    }

    /// Makes `data` (the state at `meta`) the latest snapshot, unless a newer one is kept already.
    fn keep(&self, meta: &SnapshotMeta, data: &mut SnapshotData) -> io::Result<()> {
        let mut current = self.shared.current.lock();
        if let Some(kept) = current.as_ref()
            && kept.meta.last_log_id > meta.last_log_id
        {
            return Ok(());
        }
        if let SnapshotPlace::File { directory, fsync } = &self.shared.place {
            data.persisted_as(&directory.join(SNAPSHOT_FILE), *fsync)?;
        }
        *current = Some(CurrentSnapshot {
            meta: meta.clone(),
            buffers: data.buffers(),
        });
        Ok(())
    }

    fn load_snapshot(&self) -> io::Result<Option<Snapshot>> {
        match &self.shared.place {
            SnapshotPlace::Memory => Ok(self.shared.current.lock().as_ref().and_then(|current| {
                current.buffers.as_ref().map(|buffers| Snapshot {
                    meta: current.meta.clone(),
                    snapshot: SnapshotData::in_memory(Arc::clone(buffers)),
                })
            })),
            SnapshotPlace::File { directory, .. } => {
                let path = directory.join(SNAPSHOT_FILE);
                let mut data = match SnapshotData::open_file(&path, false) {
                    Ok(data) => data,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(error),
                };
                // The metadata is read from the opened file, so it describes exactly what this
                // handle reads even if a newer snapshot replaces the file meanwhile.
                let meta = data.chunks()?.meta().clone();
                Ok(Some(Snapshot {
                    meta,
                    snapshot: data,
                }))
            }
        }
    }
}

/// Reads every chunk of `data` and has `machine` check it, changing nothing; with `expected`, the
/// image must hold the state at that metadata. Returns the image's metadata.
pub(crate) fn check_image<S: StateMachine>(
    machine: &RwLock<S>,
    data: &mut SnapshotData,
    expected: Option<&SnapshotMeta>,
) -> io::Result<SnapshotMeta> {
    let name = data.name();
    let mut chunks = data.chunks()?;
    if let Some(expected) = expected {
        chunks.expect_meta(expected)?;
    }
    for (index, chunk) in (&mut chunks).enumerate() {
        let chunk = chunk?;
        // The read lock per chunk only: applying waits for one chunk's check at most.
        machine.read().check_chunk(&chunk).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("snapshot {name}: chunk {index}: {error}"),
            )
        })?;
    }
    Ok(chunks.meta().clone())
}

/// Deletes temporary snapshot files a crash left in `directory`: nothing refers to them.
fn delete_temporary_files(directory: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMPORARY_PREFIX) && name.ends_with(TEMPORARY_SUFFIX) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Runs blocking snapshot work (encoding, file I/O) off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| io::Error::other(format!("snapshot task failed: {error}")))?
}

impl<S: StateMachine> RaftSnapshotBuilder<RaftTypes> for StateMachineStore<S> {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        // The only step under the lock: a point-in-time view paired with what was applied.
        let (chunks, applied) = {
            let machine = self.shared.machine.read();
            let applied = self.shared.applied.lock().clone();
            (machine.snapshot().map_err(io::Error::other)?, applied)
        };
        let meta = SnapshotMeta {
            last_log_id: applied.log_id,
            last_membership: applied.membership,
        };
        let store = self.clone();
        let kept_meta = meta.clone();
        let data = blocking(move || store.write_image(&kept_meta, chunks)).await?;
        Ok(Snapshot {
            meta,
            snapshot: data,
        })
    }
}

impl<S: StateMachine> RaftStateMachine<RaftTypes> for StateMachineStore<S> {
    type SnapshotData = SnapshotData;
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
        mut snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let store = self.clone();
        let meta = meta.clone();
        blocking(move || {
            store.restore_image(&mut snapshot, Some(&meta))?;
            store.keep(&meta, &mut snapshot)
        })
        .await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        self.load_snapshot()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use openraft::vote::RaftLeaderId;

    use super::*;
    use crate::{RaftNodeId, SnapshotError};

    /// Keys per chunk of the test machine: small, so that a few hundred keys make many chunks.
    const KEYS_PER_CHUNK: usize = 8;

    /// A map with expiries, snapshotted in chunks of [`KEYS_PER_CHUNK`] keys.
    #[derive(Default)]
    struct TestMachine {
        map: BTreeMap<Vec<u8>, (Vec<u8>, u64)>,
    }

    type TestChunk = Vec<(Vec<u8>, Vec<u8>, u64)>;
    /// A key with its value and expiry.
    type TestEntry = (Vec<u8>, (Vec<u8>, u64));

    struct TestChunks(std::vec::IntoIter<TestEntry>);

    impl Iterator for TestChunks {
        type Item = Result<Vec<u8>, SnapshotError>;

        fn next(&mut self) -> Option<Self::Item> {
            let chunk: TestChunk = (&mut self.0)
                .take(KEYS_PER_CHUNK)
                .map(|(key, (value, expiry))| (key, value, expiry))
                .collect();
            (!chunk.is_empty()).then(|| {
                bincode::serialize(&chunk).map_err(|error| SnapshotError(error.to_string()))
            })
        }
    }

    fn decode(chunk: &[u8]) -> Result<TestChunk, RestoreError> {
        bincode::deserialize(chunk).map_err(|error| RestoreError(error.to_string()))
    }

    impl StateMachine for TestMachine {
        type Command = ();
        type Response = ();
        type SnapshotChunks = TestChunks;

        fn apply(&mut self, _command: &()) {}

        fn snapshot(&self) -> Result<TestChunks, SnapshotError> {
            let copy: Vec<_> = self
                .map
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            Ok(TestChunks(copy.into_iter()))
        }

        fn check_chunk(&self, chunk: &[u8]) -> Result<(), RestoreError> {
            decode(chunk).map(drop)
        }

        fn restore(
            &mut self,
            chunks: &mut dyn Iterator<Item = Result<Vec<u8>, RestoreError>>,
        ) -> Result<(), RestoreError> {
            self.map.clear();
            for chunk in chunks {
                for (key, value, expiry) in decode(&chunk?)? {
                    self.map.insert(key, (value, expiry));
                }
            }
            Ok(())
        }
    }

    fn filled(keys: usize) -> TestMachine {
        let mut machine = TestMachine::default();
        for index in 0..keys {
            machine.map.insert(
                format!("key{index:05}").into_bytes(),
                (vec![index as u8; 100 + index % 50], index as u64 * 7),
            );
        }
        machine
    }

    fn log_id(index: u64) -> LogId {
        let leader = openraft::impls::leader_id_adv::LeaderId::new(2, RaftNodeId::new(1, 3));
        openraft::LogId::new(leader.to_committed(), index)
    }

    /// A store around `machine`, its applied position set to `applied`.
    fn store_with(
        machine: TestMachine,
        directory: Option<&Path>,
        applied: u64,
    ) -> (Arc<RwLock<TestMachine>>, StateMachineStore<TestMachine>) {
        let machine = Arc::new(RwLock::new(machine));
        let store = StateMachineStore::open(
            Arc::clone(&machine),
            directory.map(|directory| (directory.to_owned(), false)),
        )
        .expect("open");
        store.shared.applied.lock().log_id = Some(log_id(applied));
        (machine, store)
    }

    fn map_of(machine: &RwLock<TestMachine>) -> BTreeMap<Vec<u8>, (Vec<u8>, u64)> {
        machine.read().map.clone()
    }

    /// Byte ranges of the records of an image: (start, end) of each, in order.
    fn records_of(image: &[u8]) -> Vec<(usize, usize)> {
        let mut records = Vec::new();
        let mut at = super::super::snapshot_format::PREAMBLE_LEN;
        while at < image.len() {
            let length =
                u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes")) as usize;
            records.push((at, at + 8 + length));
            at += 8 + length;
        }
        records
    }

    #[tokio::test]
    async fn a_snapshot_of_many_chunks_survives_a_restart() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let (source, mut store) = store_with(filled(300), Some(directory.path()), 40);
        let built = store.build_snapshot().await.expect("build");
        assert_eq!(built.meta.last_log_id, Some(log_id(40)));
        let image = std::fs::read(directory.path().join(SNAPSHOT_FILE)).expect("read");
        // Metadata, 300 / 8 = 38 chunks, end record.
        assert_eq!(records_of(&image).len(), 1 + 38 + 1);
        let leftovers: Vec<_> = std::fs::read_dir(directory.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .filter(|name| name != SNAPSHOT_FILE)
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

        let restored = Arc::new(RwLock::new(TestMachine::default()));
        let mut reopened = StateMachineStore::open(
            Arc::clone(&restored),
            Some((directory.path().to_owned(), false)),
        )
        .expect("reopen");
        assert_eq!(map_of(&restored), map_of(&source));
        let (applied, _) = reopened.applied_state().await.expect("applied");
        assert_eq!(applied, Some(log_id(40)));
        let current = reopened
            .get_current_snapshot()
            .await
            .expect("current")
            .expect("a snapshot");
        assert_eq!(current.meta, built.meta);
    }

    #[tokio::test]
    async fn memory_mode_keeps_chunks_as_separate_buffers_and_installs_them() {
        let (source, mut store) = store_with(filled(100), None, 12);
        let built = store.build_snapshot().await.expect("build");
        let buffers = built.snapshot.buffers().expect("in memory");
        // Preamble with metadata, 100 / 8 = 13 chunks, end record.
        assert_eq!(buffers.len(), 1 + 13 + 1);
        let (target, mut other) = store_with(filled(3), None, 1);
        let current = store
            .get_current_snapshot()
            .await
            .expect("current")
            .expect("a snapshot");
        other
            .install_snapshot(&current.meta, current.snapshot)
            .await
            .expect("install");
        assert_eq!(map_of(&target), map_of(&source));
        let (applied, _) = other.applied_state().await.expect("applied");
        assert_eq!(applied, Some(log_id(12)));
    }

    #[tokio::test]
    async fn corrupt_or_truncated_images_are_refused_and_leave_the_state_alone() {
        let source_directory = tempfile::tempdir().expect("temporary directory");
        let (_, mut store) = store_with(filled(200), Some(source_directory.path()), 30);
        let built = store.build_snapshot().await.expect("build");
        let image = std::fs::read(source_directory.path().join(SNAPSHOT_FILE)).expect("read");
        let records = records_of(&image);
        let (second_chunk_start, second_chunk_end) = records[2];
        let (end_record_start, _) = records[records.len() - 1];

        let mut flipped = image.clone();
        flipped[(second_chunk_start + second_chunk_end) / 2] ^= 0x01;
        let damaged: Vec<(&str, Vec<u8>)> = vec![
            ("a flipped byte in a chunk", flipped),
            (
                "cut in the middle of a chunk",
                image[..second_chunk_end - 3].to_vec(),
            ),
            (
                "cut before the end record",
                image[..end_record_start].to_vec(),
            ),
            ("cut in the end record", image[..image.len() - 1].to_vec()),
            ("cut in the preamble", image[..5].to_vec()),
        ];
        for (what, bytes) in damaged {
            // Installed from a leader: refused, state and applied position untouched.
            let work = tempfile::tempdir().expect("temporary directory");
            let (target, mut other) = store_with(filled(5), Some(work.path()), 3);
            let before = map_of(&target);
            let received = work.path().join("received");
            std::fs::write(&received, &bytes).expect("write");
            let data = SnapshotData::open_file(&received, false).expect("open");
            let error = other
                .install_snapshot(&built.meta, data)
                .await
                .expect_err(what);
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{what}: {error}");
            assert_eq!(map_of(&target), before, "{what}: state changed");
            let (applied, _) = other.applied_state().await.expect("applied");
            assert_eq!(applied, Some(log_id(3)), "{what}");

            // Found on disk at restart: the group does not open, the machine is untouched.
            std::fs::write(work.path().join(SNAPSHOT_FILE), &bytes).expect("write");
            let machine = Arc::new(RwLock::new(filled(5)));
            let error = StateMachineStore::open(
                Arc::clone(&machine),
                Some((work.path().to_owned(), false)),
            )
            .err()
            .unwrap_or_else(|| panic!("{what}: opened"));
            assert!(
                error.to_string().contains("snapshot"),
                "{what}: unclear error {error}"
            );
            assert_eq!(map_of(&machine), before, "{what}: state changed on open");
        }
    }

    #[tokio::test]
    async fn an_image_offered_under_other_metadata_is_refused() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let (_, mut store) = store_with(filled(20), Some(directory.path()), 30);
        let built = store.build_snapshot().await.expect("build");
        let (target, mut other) = store_with(filled(2), None, 1);
        let mut other_meta = built.meta.clone();
        other_meta.last_log_id = Some(log_id(31));
        let error = other
            .install_snapshot(&other_meta, built.snapshot)
            .await
            .expect_err("mismatch");
        assert!(error.to_string().contains("offered as"), "{error}");
        assert_eq!(map_of(&target), filled(2).map);
    }

    #[test]
    fn a_snapshot_file_of_the_old_format_is_refused_with_a_clear_error() {
        #[derive(serde::Serialize)]
        struct OldSnapshot {
            meta: SnapshotMeta,
            data: Vec<u8>,
        }
        let directory = tempfile::tempdir().expect("temporary directory");
        crate::storage::record::write_file_atomically(
            &directory.path().join(SNAPSHOT_FILE),
            &OldSnapshot {
                meta: SnapshotMeta::default(),
                data: vec![1, 2, 3],
            },
            false,
        )
        .expect("write");
        let machine = Arc::new(RwLock::new(filled(1)));
        let error = StateMachineStore::open(machine, Some((directory.path().to_owned(), false)))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("not a chunked snapshot"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_newer_snapshot_is_not_replaced_by_an_older_build() {
        let (_, mut store) = store_with(filled(10), None, 50);
        store.build_snapshot().await.expect("build");
        store.shared.applied.lock().log_id = Some(log_id(20));
        store.build_snapshot().await.expect("build");
        let current = store
            .get_current_snapshot()
            .await
            .expect("current")
            .expect("a snapshot");
        assert_eq!(current.meta.last_log_id, Some(log_id(50)));
    }
}
