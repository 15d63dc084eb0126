//! [`PartitionSnapshot`]: a partition's entries, copied at one instant, encoded into snapshot
//! chunks one at a time; and the decoding of such chunks.
//!
//! Chunk layout: `[u8 chunk format version = 1][bincode: Vec<(key bytes, value bytes, u64
//! absolute expiry in unix ms, 0 = none)>]`. Every chunk decodes on its own.

use bincode::Options;
use ringcache_replication::{RestoreError, SNAPSHOT_CHUNK_TARGET, SnapshotError};
use serde_bytes::Bytes as ByteSlice;

use crate::store::Entry;

/// Version byte at the start of every chunk: a chunk of a format this build does not know is
/// refused rather than misread.
const CHUNK_FORMAT_VERSION: u8 = 1;

/// Keys per chunk at most, so that a partition of many tiny keys still makes bounded chunks of
/// bounded decode work.
pub const CHUNK_KEYS: usize = 16 * 1024;

/// Bytes a chunk counts per entry beyond its key and value: the two length prefixes and the
/// expiry, as bincode writes them.
const ENTRY_FRAMING: usize = 24;

/// A decoded chunk entry, borrowing from the chunk: key, value, absolute expiry (0 = none).
pub type ChunkEntry<'a> = (&'a [u8], &'a [u8], u64);

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
            bytes += entry.key().len() + entry.value().len() + ENTRY_FRAMING;
            batch.push(entry);
        }
        if batch.is_empty() {
            return None;
        }
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
        let mut chunk = Vec::with_capacity(bytes + 16);
        chunk.push(CHUNK_FORMAT_VERSION);
        Some(
            options()
                .serialize_into(&mut chunk, &borrowed)
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
    if version != CHUNK_FORMAT_VERSION {
        return Err(RestoreError(format!(
            "chunk format version {version}, this ringcache reads only version \
             {CHUNK_FORMAT_VERSION}: was the snapshot made by a newer ringcache?"
        )));
    }
    let entries: Vec<(&ByteSlice, &ByteSlice, u64)> = options()
        .deserialize(body)
        .map_err(|error| RestoreError(format!("undecodable chunk: {error}")))?;
    Ok(entries
        .into_iter()
        .map(|(key, value, expire_at_ms)| (key.as_ref(), value.as_ref(), expire_at_ms))
        .collect())
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
            for (key, decoded_value, expire_at_ms) in decode_chunk(chunk).expect("decode") {
                assert_eq!(key, format!("key{seen}").as_bytes());
                assert_eq!(decoded_value, value.as_slice());
                assert_eq!(expire_at_ms, seen);
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
