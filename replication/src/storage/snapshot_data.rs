//! [`SnapshotData`]: openraft's handle on one snapshot image, kept in a file or as a list of
//! buffers, and read a piece at a time.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::snapshot_format::SnapshotFormatError;
use super::snapshot_reader::SnapshotReader;

/// How many bytes of a snapshot file are read from the disk at once.
const READ_BUFFER: usize = 256 << 10;

/// A snapshot image (layout: see [`super::state_machine_store`]), readable as many times as needed.
///
/// A file-backed handle holds the file open, so it keeps reading the same snapshot even after a
/// newer one is renamed over its path. A handle on a temporary file (being built or just
/// received) deletes the file when dropped unless [`SnapshotData::persisted_as`] moved it.
#[derive(Debug)]
pub(crate) struct SnapshotData {
    image: Image,
}

#[derive(Debug)]
enum Image {
    /// Memory mode: the image in pieces (one per chunk record when built here).
    Buffers(Arc<Vec<Vec<u8>>>),
    File {
        file: File,
        path: PathBuf,
        /// Deleted on drop: nobody else knows of the file yet.
        temporary: bool,
    },
}

impl SnapshotData {
    /// An image held in memory as `buffers`, in order.
    pub(crate) fn in_memory(buffers: Arc<Vec<Vec<u8>>>) -> Self {
        SnapshotData {
            image: Image::Buffers(buffers),
        }
    }

    /// The image in the file at `path`; `temporary` if the file is deleted with this handle.
    pub(crate) fn open_file(path: &Path, temporary: bool) -> io::Result<Self> {
        let file = File::open(path)?;
        Ok(SnapshotData {
            image: Image::File {
                file,
                path: path.to_owned(),
                temporary,
            },
        })
    }

    /// The image in `file` (at `path`), as written by a [`super::snapshot_sink::SnapshotSink`].
    pub(crate) fn from_file(file: File, path: PathBuf, temporary: bool) -> Self {
        SnapshotData {
            image: Image::File {
                file,
                path,
                temporary,
            },
        }
    }

    /// The buffers of an in-memory image, shared (`None` for a file).
    pub(crate) fn buffers(&self) -> Option<Arc<Vec<Vec<u8>>>> {
        match &self.image {
            Image::Buffers(buffers) => Some(Arc::clone(buffers)),
            Image::File { .. } => None,
        }
    }

    /// How the image is named in errors.
    pub(crate) fn name(&self) -> String {
        match &self.image {
            Image::Buffers(_) => "(in memory)".to_owned(),
            Image::File { path, .. } => path.display().to_string(),
        }
    }

    /// The size of the image in bytes.
    pub(crate) fn len(&self) -> io::Result<u64> {
        match &self.image {
            Image::Buffers(buffers) => Ok(buffers.iter().map(|buffer| buffer.len() as u64).sum()),
            Image::File { file, .. } => Ok(file.metadata()?.len()),
        }
    }

    /// Reads the image's bytes from the start.
    pub(crate) fn bytes(&mut self) -> io::Result<ImageBytes<'_>> {
        match &mut self.image {
            Image::Buffers(buffers) => Ok(ImageBytes::Buffers {
                buffers,
                index: 0,
                offset: 0,
            }),
            Image::File { file, .. } => {
                file.seek(SeekFrom::Start(0))?;
                Ok(ImageBytes::File(BufReader::with_capacity(
                    READ_BUFFER,
                    file,
                )))
            }
        }
    }

    /// Reads the image chunk by chunk, from the start, checking each record.
    pub(crate) fn chunks(&mut self) -> Result<SnapshotReader<ImageBytes<'_>>, SnapshotFormatError> {
        let image = self.name();
        let bytes = self.bytes().map_err(|error| SnapshotFormatError::Io {
            image: image.clone(),
            error,
        })?;
        SnapshotReader::open(bytes, image)
    }

    /// Makes a file-backed image durable as `destination` (renamed there, atomically, with
    /// `fsync` the contents and the rename are flushed first); from then on it is no longer
    /// temporary. An in-memory image is left as it is.
    pub(crate) fn persisted_as(&mut self, destination: &Path, fsync: bool) -> io::Result<()> {
        let Image::File {
            file,
            path,
            temporary,
        } = &mut self.image
        else {
            return Ok(());
        };
        if path.as_path() == destination {
            return Ok(());
        }
        if fsync {
            file.sync_all()?;
        }
        std::fs::rename(&*path, destination)?;
        *path = destination.to_owned();
        *temporary = false;
        if fsync && let Some(parent) = destination.parent() {
            // The rename itself is only durable once the directory is flushed.
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for SnapshotData {
    fn drop(&mut self) {
        if let Image::File {
            path,
            temporary: true,
            ..
        } = &self.image
            && let Err(error) = std::fs::remove_file(path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "cannot delete an unused snapshot file");
        }
    }
}

/// The bytes of an image, read in order.
pub(crate) enum ImageBytes<'a> {
    Buffers {
        buffers: &'a [Vec<u8>],
        index: usize,
        offset: usize,
    },
    File(BufReader<&'a mut File>),
}

impl Read for ImageBytes<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            ImageBytes::File(reader) => reader.read(out),
            ImageBytes::Buffers {
                buffers,
                index,
                offset,
            } => {
                while let Some(buffer) = buffers.get(*index) {
                    let rest = &buffer[(*offset).min(buffer.len())..];
                    if rest.is_empty() {
                        *index += 1;
                        *offset = 0;
                        continue;
                    }
                    let count = rest.len().min(out.len());
                    out[..count].copy_from_slice(&rest[..count]);
                    *offset += count;
                    return Ok(count);
                }
                Ok(0)
            }
        }
    }
}
