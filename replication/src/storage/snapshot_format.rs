//! Encoding of a snapshot image, the byte layout shared by the snapshot file, the in-memory
//! snapshot and the wire (the layout itself is described in [`super::state_machine_store`]), and
//! [`SnapshotFormatError`], what reading one can run into.

use std::io;

use super::record::{HEADER_LEN, MAX_RECORD_LEN};
use crate::checksum::crc32;
use crate::raft_types::SnapshotMeta;

/// First bytes of every snapshot image. Read as the length of a record of the older
/// single-record format it would be 0x676e_6972, above that format's limit, so an old file can
/// never be mistaken for a new one (nor the other way round).
pub(crate) const MAGIC: [u8; 8] = *b"ringsnap";
/// Version of the layout after [`MAGIC`]. Version 1 was the single-record format (which had no
/// magic); a reader refuses any version it does not know instead of guessing.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Bytes of the magic and the version.
pub(crate) const PREAMBLE_LEN: usize = MAGIC.len() + 4;
// Records are framed as in the log file (`record`): `[u32 length][u32 crc32][body]`, bodies of at
// most `MAX_RECORD_LEN` (1 GiB: Redis values are at most 512 MiB, and a chunk holds at most one
// value beyond its target size).

/// The first byte of a record body: what the record holds.
pub(crate) const KIND_META: u8 = 1;
pub(crate) const KIND_CHUNK: u8 = 2;
pub(crate) const KIND_END: u8 = 3;

/// What went wrong reading a snapshot image; `image` names it (a file path, or "in-memory").
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotFormatError {
    #[error("snapshot {image}: cannot read it: {error}")]
    Io { image: String, error: io::Error },
    #[error(
        "snapshot {image} is not a chunked snapshot (it does not start with \"ringsnap\"); it was \
         probably written by a ringcache version from before chunked snapshots, which this \
         version cannot read: empty the member's data directory so that it rejoins under a new \
         identity and receives a fresh snapshot from the leader"
    )]
    NotChunked { image: String },
    #[error(
        "snapshot {image} has format version {version}, this ringcache reads only version \
         {FORMAT_VERSION}: run a version that knows it, or empty the member's data directory so \
         that it rejoins and receives a fresh snapshot"
    )]
    UnsupportedVersion { image: String, version: u32 },
    #[error("snapshot {image} is truncated: {what}")]
    Truncated { image: String, what: String },
    #[error("snapshot {image}: record {record} is corrupt: {reason}")]
    Corrupt {
        image: String,
        record: u64,
        reason: String,
    },
    #[error(
        "snapshot {image} holds the state at {found}, but was offered as the state at {expected}"
    )]
    MetaMismatch {
        image: String,
        found: String,
        expected: String,
    },
}

impl From<SnapshotFormatError> for io::Error {
    fn from(error: SnapshotFormatError) -> Self {
        let kind = match &error {
            SnapshotFormatError::Io { error, .. } => error.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }
}

/// The start of an image: magic, version and the metadata record.
pub(crate) fn encode_preamble(meta: &SnapshotMeta) -> io::Result<Vec<u8>> {
    let meta = bincode::serialize(meta).map_err(|error| io::Error::other(error.to_string()))?;
    let mut out = Vec::with_capacity(PREAMBLE_LEN + HEADER_LEN + 1 + meta.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    encode_record_into(KIND_META, &meta, &mut out)?;
    Ok(out)
}

/// One chunk of the state machine's snapshot, as a record.
pub(crate) fn encode_chunk(payload: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER_LEN + 1 + payload.len());
    encode_record_into(KIND_CHUNK, payload, &mut out)?;
    Ok(out)
}

/// The closing record: how many chunks precede it, so that losing whole records is noticed.
pub(crate) fn encode_end(chunk_count: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER_LEN + 9);
    encode_record_into(KIND_END, &chunk_count.to_le_bytes(), &mut out)?;
    Ok(out)
}

/// `[u32 body length][u32 crc32 of body][body]`, little-endian, where body is kind then payload.
fn encode_record_into(kind: u8, payload: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let body_len = payload.len() + 1;
    if body_len > MAX_RECORD_LEN {
        return Err(io::Error::other(format!(
            "snapshot record of {body_len} bytes is larger than the {MAX_RECORD_LEN} allowed"
        )));
    }
    let header_at = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    out.extend_from_slice(payload);
    let checksum = crc32(&out[header_at + HEADER_LEN..]);
    out[header_at + 4..header_at + HEADER_LEN].copy_from_slice(&checksum.to_le_bytes());
    Ok(())
}
