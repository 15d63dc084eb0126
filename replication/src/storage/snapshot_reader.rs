//! [`SnapshotReader`]: reads a snapshot image chunk by chunk, checking everything it reads.

use std::io::{self, Read};

use bincode::Options;

use super::record::{HEADER_LEN, MAX_RECORD_LEN, parse_header};
use super::snapshot_format::{
    FORMAT_VERSION, KIND_CHUNK, KIND_END, KIND_META, MAGIC, PREAMBLE_LEN, SnapshotFormatError,
};
use crate::checksum::crc32;
use crate::raft_types::SnapshotMeta;

/// Reads the records of a snapshot image in order: the metadata when opened, then one chunk per
/// call. Only one chunk is in memory at a time. The end record's count and the end of the input
/// are checked too, so a truncated image is an error rather than a smaller snapshot.
pub(crate) struct SnapshotReader<R> {
    input: R,
    image: String,
    meta: SnapshotMeta,
    /// Records read so far, the metadata record included (for error messages).
    records: u64,
    chunks: u64,
    finished: bool,
}

impl<R: Read> SnapshotReader<R> {
    /// Reads the preamble and the metadata of the image `input`, named `image` in errors.
    pub(crate) fn open(mut input: R, image: String) -> Result<Self, SnapshotFormatError> {
        let mut preamble = [0u8; PREAMBLE_LEN];
        let filled =
            read_up_to(&mut input, &mut preamble).map_err(|error| SnapshotFormatError::Io {
                image: image.clone(),
                error,
            })?;
        if filled < MAGIC.len() && preamble[..filled] == MAGIC[..filled] {
            return Err(SnapshotFormatError::Truncated {
                image,
                what: format!("it ends after {filled} bytes"),
            });
        }
        if preamble[..MAGIC.len()] != MAGIC {
            return Err(SnapshotFormatError::NotChunked { image });
        }
        if filled < PREAMBLE_LEN {
            return Err(SnapshotFormatError::Truncated {
                image,
                what: "the format version is cut short".to_owned(),
            });
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&preamble[MAGIC.len()..]);
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(SnapshotFormatError::UnsupportedVersion { image, version });
        }
        let mut reader = SnapshotReader {
            input,
            image,
            meta: SnapshotMeta::default(),
            records: 0,
            chunks: 0,
            finished: false,
        };
        let (kind, payload) = reader.next_record()?;
        if kind != KIND_META {
            return Err(reader.corrupt(format!("expected the metadata record, found kind {kind}")));
        }
        reader.meta = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .reject_trailing_bytes()
            .deserialize(&payload)
            .map_err(|error| reader.corrupt(format!("undecodable metadata: {error}")))?;
        Ok(reader)
    }

    /// What the snapshot holds the state at.
    pub(crate) fn meta(&self) -> &SnapshotMeta {
        &self.meta
    }

    /// Fails unless the image holds the state at `expected`: a snapshot installed under one log
    /// position must not carry another's state.
    pub(crate) fn expect_meta(&self, expected: &SnapshotMeta) -> Result<(), SnapshotFormatError> {
        if &self.meta == expected {
            return Ok(());
        }
        Err(SnapshotFormatError::MetaMismatch {
            image: self.image.clone(),
            found: self.meta.to_string(),
            expected: expected.to_string(),
        })
    }

    /// The next chunk's payload, or `None` after the last one (once the end record and the end of
    /// the input have been checked).
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, SnapshotFormatError> {
        if self.finished {
            return Ok(None);
        }
        let (kind, payload) = self.next_record()?;
        match kind {
            KIND_CHUNK => {
                self.chunks += 1;
                Ok(Some(payload))
            }
            KIND_END => {
                let count: [u8; 8] = payload.as_slice().try_into().map_err(|_| {
                    self.corrupt(format!("end record of {} bytes, not 8", payload.len()))
                })?;
                let count = u64::from_le_bytes(count);
                if count != self.chunks {
                    return Err(SnapshotFormatError::Truncated {
                        image: self.image.clone(),
                        what: format!("{} chunks present, {count} written", self.chunks),
                    });
                }
                let mut extra = [0u8; 1];
                if read_up_to(&mut self.input, &mut extra).map_err(|error| self.io(error))? != 0 {
                    return Err(self.corrupt("bytes after the end record".to_owned()));
                }
                self.finished = true;
                Ok(None)
            }
            other => Err(self.corrupt(format!("unexpected record kind {other}"))),
        }
    }

    /// Reads and checks one record; returns its kind and payload.
    fn next_record(&mut self) -> Result<(u8, Vec<u8>), SnapshotFormatError> {
        let mut header = [0u8; HEADER_LEN];
        let filled = read_up_to(&mut self.input, &mut header).map_err(|error| self.io(error))?;
        if filled < HEADER_LEN {
            return Err(SnapshotFormatError::Truncated {
                image: self.image.clone(),
                what: format!(
                    "it ends after {} chunks, without its end record",
                    self.chunks
                ),
            });
        }
        let (length, checksum) = parse_header(&header);
        if length == 0 || length > MAX_RECORD_LEN {
            return Err(self.corrupt(format!("impossible length {length}")));
        }
        // `take` grows the buffer as bytes arrive, so a corrupt length cannot allocate a gigabyte.
        let mut body = Vec::new();
        (&mut self.input)
            .take(length as u64)
            .read_to_end(&mut body)
            .map_err(|error| self.io(error))?;
        if body.len() < length {
            return Err(SnapshotFormatError::Truncated {
                image: self.image.clone(),
                what: format!(
                    "record {} announces {length} bytes, {} present",
                    self.records,
                    body.len()
                ),
            });
        }
        if crc32(&body) != checksum {
            return Err(self.corrupt("checksum mismatch".to_owned()));
        }
        self.records += 1;
        let kind = body.remove(0);
        Ok((kind, body))
    }

    fn corrupt(&self, reason: String) -> SnapshotFormatError {
        SnapshotFormatError::Corrupt {
            image: self.image.clone(),
            record: self.records,
            reason,
        }
    }

    fn io(&self, error: io::Error) -> SnapshotFormatError {
        SnapshotFormatError::Io {
            image: self.image.clone(),
            error,
        }
    }
}

impl<R: Read> Iterator for SnapshotReader<R> {
    type Item = Result<Vec<u8>, SnapshotFormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_chunk() {
            Ok(Some(chunk)) => Some(Ok(chunk)),
            Ok(None) => None,
            Err(error) => {
                // One error ends the stream: what follows a bad record cannot be trusted.
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

/// Fills `buffer` as far as the input goes; returns how many bytes were read.
fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::super::snapshot_format::{encode_chunk, encode_end, encode_preamble};
    use super::*;

    fn image(chunks: &[&[u8]]) -> Vec<u8> {
        let mut image = encode_preamble(&SnapshotMeta::default()).expect("preamble");
        for chunk in chunks {
            image.extend(encode_chunk(chunk).expect("chunk"));
        }
        image.extend(encode_end(chunks.len() as u64).expect("end"));
        image
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Vec<u8>>, SnapshotFormatError> {
        SnapshotReader::open(bytes, "test".to_owned())?.collect()
    }

    #[test]
    fn chunks_come_back_in_order() {
        let chunks: [&[u8]; 3] = [b"first", b"", b"third"];
        assert_eq!(
            read_all(&image(&chunks)).expect("read"),
            vec![b"first".to_vec(), Vec::new(), b"third".to_vec()]
        );
        assert_eq!(read_all(&image(&[])).expect("read"), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_an_error() {
        let bytes = image(&[b"alpha", b"beta", b"gamma"]);
        for cut in 0..bytes.len() {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut} accepted");
        }
        for position in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut corrupted = bytes.clone();
                corrupted[position] ^= flip;
                assert!(
                    read_all(&corrupted).is_err(),
                    "byte {position} ^ {flip:#x} accepted"
                );
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read_all(&longer).is_err(), "trailing byte accepted");
    }

    #[test]
    fn other_formats_are_named_in_the_error() {
        let error =
            read_all(&[8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]).expect_err("old format");
        assert!(
            matches!(error, SnapshotFormatError::NotChunked { .. }),
            "{error}"
        );
        let mut newer = image(&[]);
        newer[MAGIC.len()] = 3;
        let error = read_all(&newer).expect_err("newer format");
        assert!(
            matches!(
                error,
                SnapshotFormatError::UnsupportedVersion { version: 3, .. }
            ),
            "{error}"
        );
    }
}
