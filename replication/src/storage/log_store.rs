//! The Raft log and vote of one group: kept in memory, mirrored to an append-only file.
//!
//! ```text
//!  <group dir>/log        [record]* — Append(entry) | TruncateAfter(log id) | Purge(log id)
//!  <group dir>/vote       one record, replaced atomically
//!  <group dir>/committed  one record, replaced atomically (lets a restart re-apply committed entries)
//! ```
//!
//! Opening replays the log file. A purge appends a marker; when most of the file is dead the file
//! is rewritten with only the live entries. Reads are served from memory.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use serde::{Deserialize, Serialize};

use crate::raft_types::{Entry, LogId, RaftTypes, Vote};
use crate::storage::record;

const LOG_FILE: &str = "log";
const VOTE_FILE: &str = "vote";
const COMMITTED_FILE: &str = "committed";
/// Least time between two writes of the commit index.
const COMMITTED_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// One change to the log, as written to the log file.
#[derive(Serialize, Deserialize)]
enum LogRecord {
    Append(Entry),
    TruncateAfter(Option<LogId>),
    Purge(LogId),
}

/// The log and vote of one group. Cloning gives another handle on the same log (openraft wants a
/// separate reader).
#[derive(Clone)]
pub(crate) struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

struct LogInner {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    committed_saved_at: Option<std::time::Instant>,
    file: Option<LogFile>,
}

/// The on-disk side; absent in memory mode.
struct LogFile {
    directory: PathBuf,
    log: File,
    fsync: bool,
    /// Records in the log file, live or not: decides when to rewrite it.
    records: u64,
}

/// A log read back from its directory.
pub(crate) struct Opened {
    pub(crate) store: LogStore,
    /// Byte offset at which an incomplete last record was cut off, if there was one.
    pub(crate) torn_tail_at: Option<u64>,
}

impl LogStore {
    /// A log that lives only in memory.
    pub(crate) fn in_memory() -> Self {
        LogStore::from_inner(LogInner {
            entries: BTreeMap::new(),
            last_purged: None,
            vote: None,
            committed: None,
            committed_saved_at: None,
            file: None,
        })
    }

    /// Opens (or creates) the log in `directory`, replaying what is there. An incomplete last
    /// record (a crash in the middle of an append; it was never acknowledged, since appends are
    /// acknowledged after they are written) is cut off, and its offset returned in
    /// [`Opened::torn_tail_at`]. Any other damage is an `InvalidData` error naming the file and
    /// byte offset: a complete record that fails its checksum may have been acknowledged.
    pub(crate) fn open(directory: &Path, fsync: bool) -> io::Result<Opened> {
        std::fs::create_dir_all(directory)?;
        let log_path = directory.join(LOG_FILE);
        let mut inner = LogInner {
            entries: BTreeMap::new(),
            last_purged: None,
            vote: record::read_file::<Vote>(&directory.join(VOTE_FILE))?,
            // Saved as an `Option<LogId>`, so read as one; a missing file is `None` too.
            committed: record::read_file::<Option<LogId>>(&directory.join(COMMITTED_FILE))?
                .flatten(),
            committed_saved_at: None,
            file: None,
        };
        let mut records = 0;
        let data = match std::fs::read(&log_path) {
            Ok(data) => data,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let mut offset = 0;
        let mut torn_tail_at = None;
        while offset < data.len() {
            if record::incomplete_at(&data, offset)
                && !record::complete_record_after::<LogRecord>(&data, offset)
            {
                torn_tail_at = Some(offset as u64);
                break;
            }
            let (change, next): (LogRecord, usize) = record::decode_at(&data, offset, &log_path)?;
            inner.apply(change);
            records += 1;
            offset = next;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        if let Some(at) = torn_tail_at {
            // Appends go to the end, so the cut must happen before the next one.
            log.set_len(at)?;
            log.sync_all()?;
        }
        inner.file = Some(LogFile {
            directory: directory.to_path_buf(),
            log,
            fsync,
            records,
        });
        Ok(Opened {
            store: LogStore::from_inner(inner),
            torn_tail_at,
        })
    }

    fn from_inner(inner: LogInner) -> Self {
        LogStore {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LogInner> {
        // A panic while holding the lock leaves consistent data (each change is one insert or
        // remove), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Index of the last entry, or of the last purged one.
    #[cfg(test)]
    pub(crate) fn last_log_id(&self) -> Option<LogId> {
        self.lock().last_log_id()
    }
}

impl LogInner {
    fn apply(&mut self, change: LogRecord) {
        match change {
            LogRecord::Append(entry) => {
                self.entries.insert(entry.index(), entry);
            }
            LogRecord::TruncateAfter(last_kept) => {
                let first_removed = last_kept.map_or(0, |log_id| log_id.index + 1);
                self.entries.split_off(&first_removed);
            }
            LogRecord::Purge(upto) => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                self.last_purged = Some(upto);
            }
        }
    }

    fn last_log_id(&self) -> Option<LogId> {
        self.entries
            .values()
            .next_back()
            .map(|entry| entry.log_id())
            .or(self.last_purged)
    }

    /// Writes one change to the file (if any), then applies it in memory.
    fn record(&mut self, changes: Vec<LogRecord>) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            let mut bytes = Vec::new();
            for change in &changes {
                record::encode_into(change, &mut bytes)?;
            }
            file.log.write_all(&bytes)?;
            if file.fsync {
                file.log.sync_data()?;
            }
            file.records += changes.len() as u64;
        }
        for change in changes {
            self.apply(change);
        }
        Ok(())
    }

    /// Rewrites the log file with only the live entries once dead records dominate it.
    fn compact_file_if_worthwhile(&mut self) -> io::Result<()> {
        let live = self.entries.len() as u64;
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if file.records < 2 * live + 1024 {
            return Ok(());
        }
        let mut bytes = Vec::new();
        if let Some(purged) = &self.last_purged {
            record::encode_into(&LogRecord::Purge(*purged), &mut bytes)?;
        }
        for entry in self.entries.values() {
            record::encode_into(&LogRecord::Append(entry.clone()), &mut bytes)?;
        }
        let path = file.directory.join(LOG_FILE);
        record::write_bytes_atomically(&path, &bytes, file.fsync)?;
        file.log = OpenOptions::new().append(true).open(&path)?;
        file.records = live + u64::from(self.last_purged.is_some());
        Ok(())
    }

    fn save_small_file<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        match &self.file {
            Some(file) => {
                record::write_file_atomically(&file.directory.join(name), value, file.fsync)
            }
            None => Ok(()),
        }
    }
}

impl RaftLogReader<RaftTypes> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.lock().vote)
    }
}

impl RaftLogStorage<RaftTypes> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<RaftTypes>, io::Error> {
        let inner = self.lock();
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: inner.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let mut inner = self.lock();
        inner.save_small_file(VOTE_FILE, vote)?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        let mut inner = self.lock();
        // Written without fsync whatever the setting, and at most once per interval: a stale
        // value only means a restarted replica re-learns the rest of the commit index from the
        // leader, while a file replace per commit would cost more than the write itself.
        let due = inner
            .committed_saved_at
            .is_none_or(|at| at.elapsed() >= COMMITTED_SAVE_INTERVAL);
        if due && let Some(file) = &inner.file {
            record::write_file_atomically(&file.directory.join(COMMITTED_FILE), &committed, false)?;
            inner.committed_saved_at = Some(std::time::Instant::now());
        }
        inner.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<RaftTypes>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let changes = entries.into_iter().map(LogRecord::Append).collect();
        let result = self.lock().record(changes);
        match result {
            Ok(()) => {
                callback.io_completed(Ok(()));
                Ok(())
            }
            Err(error) => {
                callback.io_completed(Err(io::Error::new(error.kind(), error.to_string())));
                Err(error)
            }
        }
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        self.lock()
            .record(vec![LogRecord::TruncateAfter(last_log_id)])
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let mut inner = self.lock();
        inner.record(vec![LogRecord::Purge(log_id)])?;
        inner.compact_file_if_worthwhile()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RaftNodeId;
    use crate::raft_types::CommandBytes;
    use openraft::RaftTypeConfig;
    use openraft::Vote as OpenraftVote;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderId;

    fn log_id(term: u64, index: u64) -> LogId {
        let leader = <RaftTypes as RaftTypeConfig>::LeaderId::new(term, RaftNodeId::new(1, 1));
        openraft::LogId::new(leader.to_committed(), index)
    }

    fn entry(term: u64, index: u64) -> Entry {
        Entry::new_normal(log_id(term, index), CommandBytes(vec![index as u8; 3]))
    }

    async fn append(store: &mut LogStore, entries: Vec<Entry>) {
        store
            .append(entries, IOFlushed::noop())
            .await
            .expect("append");
    }

    fn indexes(store: &LogStore) -> Vec<u64> {
        store.lock().entries.keys().copied().collect()
    }

    #[tokio::test]
    async fn survives_reopen_with_truncate_and_purge() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, (1..=10).map(|index| entry(1, index)).collect()).await;
            store
                .truncate_after(Some(log_id(1, 7)))
                .await
                .expect("truncate");
            append(&mut store, vec![entry(2, 8)]).await;
            store.purge(log_id(1, 3)).await.expect("purge");
            let vote = OpenraftVote::new(2, RaftNodeId::new(1, 1));
            store.save_vote(&vote).await.expect("vote");
        }
        let mut store = LogStore::open(dir.path(), false).expect("reopen").store;
        assert_eq!(indexes(&store), vec![4, 5, 6, 7, 8]);
        let state = store.get_log_state().await.expect("state");
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 3)));
        assert_eq!(state.last_log_id, Some(log_id(2, 8)));
        assert!(store.read_vote().await.expect("vote").is_some());
        let got = store.try_get_log_entries(5..7).await.expect("read");
        assert_eq!(
            got.iter().map(|entry| entry.index()).collect::<Vec<_>>(),
            vec![5, 6]
        );
    }

    #[tokio::test]
    async fn rewrites_the_file_when_mostly_purged() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut store = LogStore::open(dir.path(), false).expect("open").store;
        append(
            &mut store,
            (1..=3000).map(|index| entry(1, index)).collect(),
        )
        .await;
        let before = std::fs::metadata(dir.path().join(LOG_FILE))
            .expect("size")
            .len();
        store.purge(log_id(1, 2990)).await.expect("purge");
        let after = std::fs::metadata(dir.path().join(LOG_FILE))
            .expect("size")
            .len();
        assert!(
            after < before / 10,
            "file not compacted: {before} -> {after}"
        );
        let store = LogStore::open(dir.path(), false).expect("reopen").store;
        assert_eq!(indexes(&store), (2991..=3000).collect::<Vec<_>>());
        assert_eq!(store.last_log_id(), Some(log_id(1, 3000)));
    }

    #[tokio::test]
    async fn an_incomplete_last_record_is_cut_off_and_the_log_goes_on() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, (1..=5).map(|index| entry(1, index)).collect()).await;
        }
        let path = dir.path().join(LOG_FILE);
        let good = std::fs::read(&path).expect("read");
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, vec![entry(1, 6)]).await;
        }
        let with_sixth = std::fs::read(&path).expect("read");
        // Every cut inside the sixth record (body or header) is a torn append of entry 6.
        for cut in [with_sixth.len() - 1, good.len() + 5, good.len() + 1] {
            std::fs::write(&path, &with_sixth[..cut]).expect("write");
            let opened = LogStore::open(dir.path(), false).expect("a torn tail is not an error");
            assert_eq!(opened.torn_tail_at, Some(good.len() as u64), "cut at {cut}");
            assert_eq!(
                opened.store.last_log_id(),
                Some(log_id(1, 5)),
                "cut at {cut}"
            );
            assert_eq!(
                std::fs::read(&path).expect("read"),
                good,
                "the tail is gone from disk"
            );
        }
        // Appends after the cut land where the torn record was, and survive a reopen.
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, vec![entry(2, 6)]).await;
        }
        let reopened = LogStore::open(dir.path(), false).expect("reopen");
        assert_eq!(reopened.torn_tail_at, None);
        assert_eq!(reopened.store.last_log_id(), Some(log_id(2, 6)));
    }

    #[tokio::test]
    async fn a_length_damaged_in_the_middle_is_an_error_not_a_torn_tail() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, (1..=5).map(|index| entry(1, index)).collect()).await;
        }
        let path = dir.path().join(LOG_FILE);
        let mut damaged = std::fs::read(&path).expect("read");
        // The first record's length now points past the end of the file; the four records
        // after it are intact and must not be dropped.
        damaged[2] = 0x01;
        std::fs::write(&path, &damaged).expect("write");
        let error = LogStore::open(dir.path(), false).err().expect("must fail");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            std::fs::read(&path).expect("read"),
            damaged,
            "nothing was cut"
        );
    }

    #[tokio::test]
    async fn a_complete_damaged_record_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let mut store = LogStore::open(dir.path(), false).expect("open").store;
            append(&mut store, (1..=5).map(|index| entry(1, index)).collect()).await;
        }
        let path = dir.path().join(LOG_FILE);
        let good = std::fs::read(&path).expect("read");

        // A flipped bit in the last record: complete, so it may have been acknowledged.
        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x40;
        std::fs::write(&path, &flipped).expect("write");
        let error = LogStore::open(dir.path(), false).err().expect("must fail");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("checksum mismatch"), "{error}");

        // A flipped bit in the middle.
        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        std::fs::write(&path, &flipped).expect("write");
        let error = LogStore::open(dir.path(), false).err().expect("must fail");
        assert!(error.to_string().contains("corrupt record"), "{error}");

        // A garbage length.
        std::fs::write(&path, [0xff; 16]).expect("write");
        let error = LogStore::open(dir.path(), false).err().expect("must fail");
        assert!(error.to_string().contains("impossible length"), "{error}");

        // A corrupt vote file.
        std::fs::write(&path, &good).expect("write");
        std::fs::write(dir.path().join(VOTE_FILE), b"xx").expect("write");
        let error = LogStore::open(dir.path(), false).err().expect("must fail");
        assert!(error.to_string().contains("truncated header"), "{error}");
    }
}
