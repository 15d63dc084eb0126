//! Framing of records on disk: `[u32 length][u32 crc32][bincode body]`, little-endian.
//!
//! The checksum turns a torn write or bit rot into a clear error instead of a wrong log.

use std::io;
use std::path::Path;

use bincode::Options;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checksum::crc32;

/// Bytes before each body.
pub(crate) const HEADER_LEN: usize = 8;
/// A length above this is garbage, not a record: refuse it instead of allocating it.
pub(crate) const MAX_RECORD_LEN: usize = 1 << 30;

/// Splits a record header into the body's length and its checksum.
pub(crate) fn parse_header(header: &[u8; HEADER_LEN]) -> (usize, u32) {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
    (
        u32::from_le_bytes([l0, l1, l2, l3]) as usize,
        u32::from_le_bytes([c0, c1, c2, c3]),
    )
}

/// Appends the framed encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let body = bincode::serialize(value).map_err(|error| io::Error::other(error.to_string()))?;
    if body.len() > MAX_RECORD_LEN {
        return Err(io::Error::other(format!(
            "record of {} bytes is too large",
            body.len()
        )));
    }
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

/// True when the bytes from `offset` to the end are the start of a record that was never finished:
/// a header cut short, or a plausible header announcing more bytes than are left. That is what a
/// crash in the middle of an append leaves (appends only ever add to the end). A complete record
/// that fails its checksum is not incomplete: it is corruption and stays an error.
pub(crate) fn incomplete_at(data: &[u8], offset: usize) -> bool {
    let Some(rest) = data.get(offset..) else {
        return false;
    };
    let Some(header) = rest.get(..HEADER_LEN) else {
        return !rest.is_empty();
    };
    let header: &[u8; HEADER_LEN] = header.try_into().expect("HEADER_LEN bytes");
    let (length, _) = parse_header(header);
    length <= MAX_RECORD_LEN && HEADER_LEN + length > rest.len()
}

/// True when a complete record of type `T` (checksum right, body decodable) starts anywhere after
/// `offset`. An incomplete record followed by complete ones is not a torn append but a damaged
/// length field in the middle of the file: cutting there would drop records that may have been
/// acknowledged. (A torn append is always last; its own bytes are checked here too, and matching
/// a checksum and decoding by chance is as unlikely as a CRC32 collision.)
pub(crate) fn complete_record_after<T: DeserializeOwned>(data: &[u8], offset: usize) -> bool {
    let path = Path::new("");
    (offset + 1..data.len().saturating_sub(HEADER_LEN - 1)).any(|start| {
        let header: &[u8; HEADER_LEN] = data[start..start + HEADER_LEN]
            .try_into()
            .expect("HEADER_LEN bytes");
        let (length, _) = parse_header(header);
        length > 0
            && start + HEADER_LEN + length <= data.len()
            && decode_at::<T>(data, start, path).is_ok()
    })
}

/// Decodes the record starting at `offset` of `data` (read from `path`, named in errors).
/// Returns the value and the offset just after it.
pub(crate) fn decode_at<T: DeserializeOwned>(
    data: &[u8],
    offset: usize,
    path: &Path,
) -> io::Result<(T, usize)> {
    let corrupt = |reason: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: corrupt record at byte {offset}: {reason}",
                path.display()
            ),
        )
    };
    let header: &[u8; HEADER_LEN] = data
        .get(offset..offset + HEADER_LEN)
        .and_then(|header| header.try_into().ok())
        .ok_or_else(|| {
            corrupt(format!(
                "truncated header ({} bytes left)",
                data.len() - offset
            ))
        })?;
    let (length, checksum) = parse_header(header);
    if length > MAX_RECORD_LEN {
        return Err(corrupt(format!("impossible length {length}")));
    }
    let start = offset + HEADER_LEN;
    let body = data.get(start..start + length).ok_or_else(|| {
        corrupt(format!(
            "truncated body: {length} bytes announced, {} present",
            data.len() - start
        ))
    })?;
    if crc32(body) != checksum {
        return Err(corrupt("checksum mismatch".to_owned()));
    }
    // Reject trailing bytes: they mean the record was decoded as the wrong type.
    let value = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .deserialize(body)
        .map_err(|error| corrupt(format!("undecodable: {error}")))?;
    Ok((value, start + length))
}

/// Writes `value` as the whole content of `path`, atomically (temporary file, then rename).
pub(crate) fn write_file_atomically<T: Serialize>(
    path: &Path,
    value: &T,
    fsync: bool,
) -> io::Result<()> {
    let mut bytes = Vec::new();
    encode_into(value, &mut bytes)?;
    write_bytes_atomically(path, &bytes, fsync)
}

/// Writes `bytes` as the whole content of `path`, atomically.
pub(crate) fn write_bytes_atomically(path: &Path, bytes: &[u8], fsync: bool) -> io::Result<()> {
    use std::io::Write;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    if fsync {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(&temporary, path)?;
    if fsync && let Some(parent) = path.parent() {
        // The rename itself is only durable once the directory is flushed.
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Reads a file written by [`write_file_atomically`]; `None` if it does not exist.
pub(crate) fn read_file<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let (value, end) = decode_at(&bytes, 0, path)?;
            if end != bytes.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {} trailing bytes", path.display(), bytes.len() - end),
                ));
            }
            Ok(Some(value))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}
