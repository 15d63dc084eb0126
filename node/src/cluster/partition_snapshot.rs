//! [`PartitionSnapshot`]: a partition's entries, copied at one instant, encoded into snapshot
//! chunks one at a time; and the decoding of such chunks.
//!
//! Chunk layouts (every chunk decodes on its own):
//! * version 1, a chunk of strings only: `[1][bincode: Vec<(key bytes, value bytes, u64 absolute
//!   expiry in unix ms, 0 = none)>]`;
//! * version 2, a chunk with a collection: `[2][bincode: Vec<(key bytes, value bytes, u64 expiry,
//!   u8 encoding)>]`, encoding 0 for a string's raw bytes and 1 for a value in Redis's DUMP format.
//!
//! A chunk of strings is still written as version 1, so members of an older version keep
//! accepting the snapshots of string-only partitions during an upgrade.

use bincode::Options;
use ringcache_replication::{RestoreError, SNAPSHOT_CHUNK_TARGET, SnapshotError};
use serde_bytes::Bytes as ByteSlice;

use crate::store::Entry;

/// Version byte at the start of every chunk: a chunk of a format this build does not know is
/// refused rather than misread.
const STRINGS_ONLY: u8 = 1;
const WITH_ENCODING: u8 = 2;

/// How a chunk entry's value bytes are encoded.
const RAW: u8 = 0;
const DUMP: u8 = 1;

/// Keys per chunk at most, so that a partition of many tiny keys still makes bounded chunks of
/// bounded decode work.
pub const CHUNK_KEYS: usize = 16 * 1024;

/// Bytes a chunk counts per entry beyond its key and value: the two length prefixes and the
/// expiry, as bincode writes them.
const ENTRY_FRAMING: usize = 24;

/// A decoded chunk entry, borrowing from the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkEntry<'a> {
    pub key: &'a [u8],
    /// A string's bytes, or a collection in DUMP format.
    pub value: &'a [u8],
    /// Absolute unix milliseconds, 0 = none.
    pub expire_at_ms: u64,
    pub dumped: bool,
}

impl ChunkEntry<'_> {
    /// The entry it describes; a DUMP payload that does not decode is an error.
    pub fn to_entry(&self) -> Result<Entry, RestoreError> {
        if !self.dumped {
            return Ok(Entry::new(self.key, self.value, self.expire_at_ms, 0));
        }
        crate::store::dump::restore(self.key, self.value, self.expire_at_ms, 0).map_err(|error| {
            RestoreError(format!(
                "the value of key {:?} in a snapshot chunk does not decode: {error}",
                String::from_utf8_lossy(self.key)
            ))
        })
    }
}

/// A partition's entries (copied under the state machine's read lock), encoded lazily into
/// chunks of about [`SNAPSHOT_CHUNK_TARGET`] bytes or [`CHUNK_KEYS`] keys. Entries are dropped as
/// they are encoded, so the copy shrinks while the snapshot is written.
pub struct PartitionSnapshot {
    entries: std::vec::IntoIter<Entry>,
}

impl PartitionSnapshot {
    pub fn new(entries: Vec<Entry>) -> Self {
        PartitionSnapshot {
            entries: entries.into_iter(),
        }
    }
}

impl Iterator for PartitionSnapshot {
    type Item = Result<Vec<u8>, SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < CHUNK_KEYS && bytes < SNAPSHOT_CHUNK_TARGET {
            let Some(entry) = self.entries.next() else {
                break;
            };
            let value_len = match entry.object() {
                None => entry.value().len(),
                Some(object) => object.estimated_size() as usize,
            };
            bytes += entry.key().len() + value_len + ENTRY_FRAMING;
            batch.push(entry);
        }
        if batch.is_empty() {
            return None;
        }
        let mut chunk = Vec::with_capacity(bytes + 16);
        let encoded = if batch.iter().all(|entry| entry.object().is_none()) {
            chunk.push(STRINGS_ONLY);
            let borrowed: Vec<(&ByteSlice, &ByteSlice, u64)> = batch
                .iter()
                .map(|entry| {
                    (
                        ByteSlice::new(entry.key()),
                        ByteSlice::new(entry.value()),
                        entry.expire_at_ms(),
                    )
                })
                .collect();
            options().serialize_into(&mut chunk, &borrowed)
        } else {
            chunk.push(WITH_ENCODING);
            let dumps: Vec<Option<Vec<u8>>> = batch
                .iter()
                .map(|entry| entry.object().map(|_| crate::store::dump::dump(entry)))
                .collect();
            let borrowed: Vec<(&ByteSlice, &ByteSlice, u64, u8)> = batch
                .iter()
                .zip(&dumps)
                .map(|(entry, dump)| match dump {
                    Some(dump) => (
                        ByteSlice::new(entry.key()),
                        ByteSlice::new(dump),
                        entry.expire_at_ms(),
                        DUMP,
                    ),
                    None => (
                        ByteSlice::new(entry.key()),
                        ByteSlice::new(entry.value()),
                        entry.expire_at_ms(),
                        RAW,
                    ),
                })
                .collect();
            options().serialize_into(&mut chunk, &borrowed)
        };
        Some(
            encoded
                .map(|()| chunk)
                .map_err(|error| SnapshotError(format!("cannot encode a chunk: {error}"))),
        )
    }
}

/// Decodes one chunk made by [`PartitionSnapshot`], borrowing keys and values from it.
pub fn decode_chunk(chunk: &[u8]) -> Result<Vec<ChunkEntry<'_>>, RestoreError> {
    let Some((&version, body)) = chunk.split_first() else {
        return Err(RestoreError("empty chunk".to_owned()));
    };
    let undecodable = |error: bincode::Error| RestoreError(format!("undecodable chunk: {error}"));
    match version {
        STRINGS_ONLY => {
            let entries: Vec<(&ByteSlice, &ByteSlice, u64)> =
                options().deserialize(body).map_err(undecodable)?;
            Ok(entries
                .into_iter()
                .map(|(key, value, expire_at_ms)| ChunkEntry {
                    key,
                    value,
                    expire_at_ms,
                    dumped: false,
                })
                .collect())
        }
        WITH_ENCODING => {
            let entries: Vec<(&ByteSlice, &ByteSlice, u64, u8)> =
                options().deserialize(body).map_err(undecodable)?;
            entries
                .into_iter()
                .map(|(key, value, expire_at_ms, encoding)| match encoding {
                    RAW | DUMP => Ok(ChunkEntry {
                        key,
                        value,
                        expire_at_ms,
                        dumped: encoding == DUMP,
                    }),
                    other => Err(RestoreError(format!(
                        "value encoding {other} in a snapshot chunk: was it made by a newer \
                         ringcache?"
                    ))),
                })
                .collect()
        }
        other => Err(RestoreError(format!(
            "chunk format version {other}, this ringcache reads versions {STRINGS_ONLY} and \
             {WITH_ENCODING}: was the snapshot made by a newer ringcache?"
        ))),
    }
}

/// bincode as `bincode::serialize` writes it (fixed-width integers), refusing trailing bytes on
/// decoding: they would mean the chunk is not what it claims to be.
fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_bounded_and_decode_on_their_own() {
        let value = vec![b'v'; 1000];
        let entries: Vec<Entry> = (0..3000)
            .map(|index| Entry::new(format!("key{index}").as_bytes(), &value, index, 0))
            .collect();
        let chunks: Vec<Vec<u8>> = PartitionSnapshot::new(entries)
            .collect::<Result<_, _>>()
            .expect("encode");
        assert!(chunks.len() >= 2, "{} chunks", chunks.len());
        let mut seen = 0u64;
        for chunk in &chunks {
            assert!(
                chunk.len() <= SNAPSHOT_CHUNK_TARGET + 2048,
                "{}",
                chunk.len()
            );
            for entry in decode_chunk(chunk).expect("decode") {
                assert_eq!(entry.key, format!("key{seen}").as_bytes());
                assert_eq!(entry.value, value.as_slice());
                assert_eq!(entry.expire_at_ms, seen);
                seen += 1;
            }
        }
        assert_eq!(seen, 3000);
    }

    #[test]
    fn many_tiny_keys_are_cut_by_count() {
        let entries: Vec<Entry> = (0..CHUNK_KEYS + 1)
            .map(|index| Entry::new(&(index as u32).to_le_bytes(), b"", 0, 0))
            .collect();
        let counts: Vec<usize> = PartitionSnapshot::new(entries)
            .map(|chunk| decode_chunk(&chunk.expect("encode")).expect("decode").len())
            .collect();
        assert_eq!(counts, vec![CHUNK_KEYS, 1]);
    }

    #[test]
    fn collections_travel_in_dump_format_and_strings_stay_version_1() {
        use crate::store::types::{HashValue, Object};
        let mut hash = HashValue::default();
        hash.insert(b"field", b"value");
        let with_hash = vec![
            Entry::new(b"s", b"text", 5, 0),
            Entry::with_object(b"h", Object::Hash(hash), 9, 0),
        ];
        let chunk = PartitionSnapshot::new(with_hash.clone())
            .next()
            .expect("a chunk")
            .expect("encode");
        assert_eq!(chunk[0], WITH_ENCODING);
        let back: Vec<Entry> = decode_chunk(&chunk)
            .expect("decode")
            .iter()
            .map(|entry| entry.to_entry().expect("entry"))
            .collect();
        assert_eq!(back, with_hash);
        let strings = PartitionSnapshot::new(vec![Entry::new(b"s", b"t", 0, 0)])
            .next()
            .expect("a chunk")
            .expect("encode");
        assert_eq!(strings[0], STRINGS_ONLY);
        let mut corrupt = chunk.clone();
        let last = corrupt.len() - 20;
        corrupt[last] ^= 0xff;
        let decoded = decode_chunk(&corrupt);
        assert!(
            decoded.is_err()
                || decoded
                    .expect("decoded")
                    .iter()
                    .any(|entry| entry.to_entry().is_err()),
            "a corrupted payload is refused"
        );
    }

    #[test]
    fn an_empty_partition_makes_no_chunk() {
        assert_eq!(PartitionSnapshot::new(Vec::new()).count(), 0);
    }

    #[test]
    fn bad_chunks_are_errors_not_panics() {
        let chunk = PartitionSnapshot::new(vec![Entry::new(b"k", b"v", 7, 0)])
            .next()
            .expect("a chunk")
            .expect("encode");
        assert!(decode_chunk(&[]).is_err());
        let mut other_version = chunk.clone();
        other_version[0] = 9;
        let error = decode_chunk(&other_version).expect_err("unknown version");
        assert!(error.0.contains("version 9"), "{error}");
        let mut trailing = chunk.clone();
        trailing.push(0);
        assert!(decode_chunk(&trailing).is_err());
        for cut in 0..chunk.len() {
            assert!(decode_chunk(&chunk[..cut]).is_err(), "cut at {cut}");
        }
    }
}
