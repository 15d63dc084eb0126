//! Redis 7 `DUMP`/`RESTORE` payloads: the serialized-value format ringcache shares with Redis.
//!
//! A payload is `<type byte><object><RDB version: u16 LE><CRC64: u64 LE>`, the object being one
//! value in Redis's RDB encoding. [`encode`] writes RDB version 10 (Redis 7.0) with the encodings
//! Redis 7.0 itself would pick; [`decode`] reads everything Redis 7.0 and 7.2 emit for strings,
//! lists, sets, hashes and sorted sets, including the legacy ziplist/zipmap encodings still found
//! in old RDB data. Decoding never trusts the input: every length is bounds-checked before use and
//! before allocating, so a hostile payload gets an error, not a panic or a huge allocation.
//! (Decoded data can still be up to ~88 times the payload, LZF's best ratio, plus per-element
//! `Vec` overhead; callers bound the payload size as Redis bounds a bulk string.)
//!
//! Where `decode` deliberately differs from Redis 7.0.15's `RESTORE`: it accepts version 11 (Redis
//! 7.2's); it rejects bytes after the
//! object (Redis ignores them); and it always validates blobs deeply and rejects duplicates, as
//! Redis does only with `sanitize-dump-payload yes`.
//!
//! `encode.rs` writes payloads, `decode.rs` reads them; tests include payloads captured from
//! redis-server 7.0.15.

use std::fmt;

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::decode;
pub use encode::encode;

/// The RDB version [`encode`] writes: Redis 7.0's, so every Redis since 7.0 restores our dumps.
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version [`decode`] accepts. Redis 7.2 writes 11; 12 (7.4) adds hash field TTLs.
pub const MAX_RDB_VERSION: u16 = 11;

// Object type bytes, from redis src/rdb.h. Modules and streams are not modelled.
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_SET_LISTPACK: u8 = 20;

const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

// Encoding thresholds from Redis 7.0's shipped redis.conf (hash/zset-max-listpack-entries/value,
// set-max-intset-entries, list-max-listpack-size -2, the 1 GiB plain-node threshold), so a restored
// value gets the encoding Redis would give it; Redis converts on load if its own limits differ.
const LISTPACK_MAX_ENTRIES: usize = 128;
const LISTPACK_MAX_VALUE: usize = 64;
const INTSET_MAX_ENTRIES: usize = 512;
const QUICKLIST_NODE_BYTES: usize = 8192;
const PLAIN_NODE_THRESHOLD: usize = (1 << 30) - 64;

/// Most bytes LZF can produce per compressed byte (a 3-byte back reference copies 264 bytes),
/// which bounds a declared decompressed length before we allocate it.
const LZF_MAX_RATIO: usize = 88;

/// A value as `DUMP` carries it. Collections keep the order stored in the payload.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpValue {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    SortedSet(Vec<(Vec<u8>, f64)>),
}

/// Why a payload could not be decoded; one variant per failing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpError {
    /// Shorter than the 10-byte footer (version and checksum).
    TooShort,
    /// The footer's RDB version is newer than [`MAX_RDB_VERSION`].
    UnsupportedVersion(u16),
    /// The footer's CRC64 does not match the payload.
    BadChecksum,
    /// The object ends before its encoding says it should.
    Truncated,
    /// An object type this module does not decode (modules, streams, unknown).
    UnsupportedType(u8),
    /// A length prefix is malformed or larger than the rest of the payload could hold.
    BadLength,
    /// A string uses an unknown special encoding.
    BadStringEncoding,
    /// LZF-compressed data is corrupt or does not decompress to its declared length.
    BadLzf,
    /// A ziplist blob fails its integrity checks.
    BadZiplist,
    /// A listpack blob fails its integrity checks.
    BadListpack,
    /// An intset blob fails its integrity checks (width, length, sorted order).
    BadIntset,
    /// A zipmap blob fails its integrity checks.
    BadZipmap,
    /// A quicklist node has an unknown container or is empty.
    BadQuicklistNode,
    /// A flat field/value or member/score sequence has an odd number of elements.
    UnpairedElement,
    /// A sorted-set score is not a number, or is NaN.
    BadScore,
    /// A set member, hash field or sorted-set member appears twice.
    DuplicateMember,
    /// A collection has no elements; Redis never stores empty collections.
    EmptyCollection,
    /// Bytes remain between the object and the footer.
    TrailingBytes,
}

impl DumpError {
    /// The error `RESTORE` replies with in Redis for this failure.
    #[must_use]
    pub fn redis_message(&self) -> &'static str {
        match self {
            Self::TooShort | Self::UnsupportedVersion(_) | Self::BadChecksum => {
                "ERR DUMP payload version or checksum are wrong"
            }
            _ => "ERR Bad data format",
        }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("DUMP payload shorter than its footer"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported RDB version {v}"),
            Self::BadChecksum => f.write_str("DUMP payload checksum mismatch"),
            Self::Truncated => f.write_str("DUMP payload truncated"),
            Self::UnsupportedType(t) => write!(f, "unsupported RDB object type {t}"),
            Self::BadLength => f.write_str("invalid length encoding"),
            Self::BadStringEncoding => f.write_str("invalid string encoding"),
            Self::BadLzf => f.write_str("corrupt LZF data"),
            Self::BadZiplist => f.write_str("ziplist integrity check failed"),
            Self::BadListpack => f.write_str("listpack integrity check failed"),
            Self::BadIntset => f.write_str("intset integrity check failed"),
            Self::BadZipmap => f.write_str("zipmap integrity check failed"),
            Self::BadQuicklistNode => f.write_str("invalid quicklist node"),
            Self::UnpairedElement => f.write_str("odd number of elements in a pair encoding"),
            Self::BadScore => f.write_str("invalid sorted set score"),
            Self::DuplicateMember => f.write_str("duplicate member"),
            Self::EmptyCollection => f.write_str("empty collection"),
            Self::TrailingBytes => f.write_str("trailing bytes after the object"),
        }
    }
}

impl std::error::Error for DumpError {}

/// Redis's CRC64 (Jones polynomial, reflected input and output, initial value 0) as a lookup
/// table built at compile time; `0x95ac_9329_ac4b_c9b5` is the polynomial bit-reversed.
const CRC64_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Redis's `crc64(0, data)`, the checksum that ends every DUMP payload.
pub fn crc64(data: &[u8]) -> u64 {
    data.iter().fold(0, |crc, &b| {
        CRC64_TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// A listpack entry's back-length, exactly as redis lpEncodeBacklen writes it (including its
/// slightly irregular size boundaries), so a byte comparison validates it when reading.
fn backlen(len: usize) -> ([u8; 5], usize) {
    let l = len as u64;
    let group = |shift: u32| ((l >> shift) & 127) as u8 | 128;
    if l <= 127 {
        ([l as u8, 0, 0, 0, 0], 1)
    } else if l < 16383 {
        ([(l >> 7) as u8, group(0), 0, 0, 0], 2)
    } else if l < 2_097_151 {
        ([(l >> 14) as u8, group(7), group(0), 0, 0], 3)
    } else if l < 268_435_455 {
        ([(l >> 21) as u8, group(14), group(7), group(0), 0], 4)
    } else {
        (
            [(l >> 28) as u8, group(21), group(14), group(7), group(0)],
            5,
        )
    }
}
