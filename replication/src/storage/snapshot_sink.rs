//! [`SnapshotSink`]: where a snapshot image is written as it is produced (built here or
//! received from a leader): a new temporary file, or a list of buffers in memory mode.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::snapshot_data::SnapshotData;

/// Prefix and suffix of temporary snapshot files in a group's directory; leftovers of a crash
/// are recognized by them and deleted when the group is opened again.
pub(crate) const TEMPORARY_PREFIX: &str = "snapshot.";
pub(crate) const TEMPORARY_SUFFIX: &str = ".tmp";

/// Tells temporary files apart: a build and several receptions may run at once in one group.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Accepts the bytes of an image in order and turns into a [`SnapshotData`] when finished.
pub(crate) struct SnapshotSink {
    target: Target,
    written: u64,
}

enum Target {
    Buffers(Vec<Vec<u8>>),
    File {
        writer: BufWriter<File>,
        path: PathBuf,
    },
}

impl SnapshotSink {
    /// Collects the image in memory, one buffer per [`SnapshotSink::write`].
    pub(crate) fn in_memory() -> Self {
        SnapshotSink {
            target: Target::Buffers(Vec::new()),
            written: 0,
        }
    }

    /// Writes the image to a new temporary file in `directory`; `purpose` goes into its name.
    pub(crate) fn temporary_file(directory: &Path, purpose: &str) -> io::Result<Self> {
        let number = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let path = directory.join(format!(
            "{TEMPORARY_PREFIX}{purpose}-{}-{number}{TEMPORARY_SUFFIX}",
            std::process::id()
        ));
        // Readable too: the finished image is read back through the same handle.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(SnapshotSink {
            target: Target::File {
                writer: BufWriter::with_capacity(256 << 10, file),
                path,
            },
            written: 0,
        })
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Appends `bytes` to the image.
    pub(crate) fn write(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        self.written += bytes.len() as u64;
        match &mut self.target {
            Target::Buffers(buffers) => {
                buffers.push(bytes);
                Ok(())
            }
            Target::File { writer, .. } => writer.write_all(&bytes),
        }
    }

    /// The image written. A file stays temporary (see [`SnapshotData::persisted_as`]) and is not
    /// yet flushed to the disk: that happens only if it is kept.
    pub(crate) fn finish(mut self) -> io::Result<SnapshotData> {
        // Taken out so that this sink's `drop` no longer sees (and deletes) the file.
        match std::mem::replace(&mut self.target, Target::Buffers(Vec::new())) {
            Target::Buffers(buffers) => Ok(SnapshotData::in_memory(Arc::new(buffers))),
            Target::File { writer, path } => match writer.into_inner() {
                Ok(file) => Ok(SnapshotData::from_file(file, path, true)),
                Err(error) => {
                    let _ = std::fs::remove_file(&path);
                    Err(error.into_error())
                }
            },
        }
    }
}

impl Drop for SnapshotSink {
    fn drop(&mut self) {
        // An abandoned image (a reception cut short, a build that failed) is deleted; a finished
        // one was moved into its `SnapshotData`, which owns the file from then on.
        if let Target::File { path, .. } = &self.target {
            let _ = std::fs::remove_file(path);
        }
    }
}
