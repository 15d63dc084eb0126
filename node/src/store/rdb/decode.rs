//! Reading DUMP payloads: every encoding Redis 7.0 and 7.2 emit for the five core types.

use super::*;
use std::borrow::Cow;
use std::collections::HashSet;

/// Parses a complete DUMP payload, checking version, checksum and every length inside.
///
/// An all-zero checksum is refused like any wrong one, as Redis's `RESTORE` does. Stricter than Redis 7.0's default (`sanitize-dump-payload no`),
/// ziplists, listpacks and intsets are always fully validated and duplicates always rejected,
/// because the result feeds straight into ringcache's keyspace.
///
/// # Errors
///
/// The first [`DumpError`] met; [`DumpError::redis_message`] gives the matching `RESTORE` reply.
pub fn decode(payload: &[u8]) -> Result<DumpValue, DumpError> {
    let body_len = payload.len().checked_sub(10).ok_or(DumpError::TooShort)?;
    let (signed, crc) = payload
        .split_at_checked(body_len + 2)
        .ok_or(DumpError::TooShort)?;
    let (body, version) = signed
        .split_at_checked(body_len)
        .ok_or(DumpError::TooShort)?;
    let version = u16::from_le_bytes(version.try_into().map_err(|_| DumpError::TooShort)?);
    if version > MAX_RDB_VERSION {
        return Err(DumpError::UnsupportedVersion(version));
    }
    let crc = u64::from_le_bytes(crc.try_into().map_err(|_| DumpError::TooShort)?);
    if crc != crc64(signed) {
        return Err(DumpError::BadChecksum);
    }
    let mut r = Reader::new(body, DumpError::Truncated);
    let value = read_object(&mut r)?;
    if !r.data.is_empty() {
        return Err(DumpError::TrailingBytes);
    }
    validate(&value)?;
    Ok(value)
}

/// Most elements reserved up front from an untrusted count: a pair costs 30-50 bytes in memory
/// but can take 2 in the payload, so larger collections grow as their elements actually parse.
const PREALLOC_LIMIT: usize = 4096;

/// A cursor over untrusted bytes; running out yields `err`, so each blob parser reports its own
/// failure kind.
struct Reader<'a> {
    data: &'a [u8],
    err: DumpError,
}

enum Length {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], err: DumpError) -> Self {
        Self { data, err }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DumpError> {
        let (head, tail) = self.data.split_at_checked(n).ok_or(self.err)?;
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DumpError> {
        self.take(N)?.try_into().map_err(|_| self.err)
    }

    fn byte(&mut self) -> Result<u8, DumpError> {
        Ok(self.array::<1>()?[0])
    }

    fn length(&mut self) -> Result<Length, DumpError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first)),
            1 => Length::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            2 if first == 0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            2 if first == 0x81 => Length::Plain(u64::from_be_bytes(self.array()?)),
            2 => return Err(DumpError::BadLength),
            _ => Length::Special(first & 0x3f),
        })
    }

    /// A plain length that must fit in what remains, at `min_item` bytes per counted item.
    fn count(&mut self, min_item: usize) -> Result<usize, DumpError> {
        let Length::Plain(n) = self.length()? else {
            return Err(DumpError::BadLength);
        };
        let n = usize::try_from(n).map_err(|_| DumpError::BadLength)?;
        match n.checked_mul(min_item) {
            Some(bytes) if bytes <= self.data.len() => Ok(n),
            _ => Err(DumpError::BadLength),
        }
    }

    /// An RDB string: raw, integer-encoded or LZF-compressed.
    fn string(&mut self) -> Result<Cow<'a, [u8]>, DumpError> {
        let int = |v: i64| Ok(Cow::Owned(v.to_string().into_bytes()));
        match self.length()? {
            Length::Plain(n) => {
                // `take` bounds-checks before anything is copied or allocated.
                let n = usize::try_from(n).map_err(|_| DumpError::BadLength)?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Length::Special(0) => int(i64::from(i8::from_le_bytes(self.array()?))),
            Length::Special(1) => int(i64::from(i16::from_le_bytes(self.array()?))),
            Length::Special(2) => int(i64::from(i32::from_le_bytes(self.array()?))),
            Length::Special(3) => {
                let compressed_len = self.count(1)?;
                let Length::Plain(len) = self.length()? else {
                    return Err(DumpError::BadLength);
                };
                let len = usize::try_from(len).map_err(|_| DumpError::BadLength)?;
                if len > compressed_len.saturating_mul(LZF_MAX_RATIO) {
                    return Err(DumpError::BadLzf);
                }
                Ok(Cow::Owned(lzf_decompress(self.take(compressed_len)?, len)?))
            }
            Length::Special(_) => Err(DumpError::BadStringEncoding),
        }
    }
}

/// LZF decompression (liblzf's `lzf_d.c`) into exactly `out_len` bytes, checking every reference.
fn lzf_decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, DumpError> {
    let mut out = Vec::with_capacity(out_len);
    let mut r = Reader::new(input, DumpError::BadLzf);
    while !r.data.is_empty() {
        let ctrl = usize::from(r.byte()?);
        if ctrl < 32 {
            let literal = r.take(ctrl + 1)?;
            if out.len() + literal.len() > out_len {
                return Err(DumpError::BadLzf);
            }
            out.extend_from_slice(literal);
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(r.byte()?);
            }
            len += 2;
            let back = ((ctrl & 0x1f) << 8) + usize::from(r.byte()?) + 1;
            if back > out.len() || out.len() + len > out_len {
                return Err(DumpError::BadLzf);
            }
            // The source may overlap what this copy writes (a run): copy at most `back` bytes at
            // a time so every chunk reads only bytes already written.
            let mut remaining = len;
            while remaining > 0 {
                let chunk = remaining.min(back);
                let from = out.len() - back;
                out.extend_from_within(from..from + chunk);
                remaining -= chunk;
            }
        }
    }
    if out.len() != out_len {
        return Err(DumpError::BadLzf);
    }
    Ok(out)
}

/// A ziplist or listpack element.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    fn bytes(self) -> Vec<u8> {
        match self {
            Elem::Int(v) => v.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }

    fn score(self) -> Result<f64, DumpError> {
        match self {
            Elem::Int(v) => Ok(v as f64),
            Elem::Str(s) => parse_score(s),
        }
    }
}

/// A score printed by Redis (`%.17g`, integers, `inf`, `-inf`).
fn parse_score(s: &[u8]) -> Result<f64, DumpError> {
    let s = std::str::from_utf8(s).map_err(|_| DumpError::BadScore)?;
    s.parse::<f64>().map_err(|_| DumpError::BadScore)
}

fn read_object(r: &mut Reader<'_>) -> Result<DumpValue, DumpError> {
    let kind = r.byte()?;
    Ok(match kind {
        TYPE_STRING => DumpValue::String(r.string()?.into_owned()),
        TYPE_LIST => {
            let n = r.count(1)?;
            DumpValue::List(strings(r, n)?)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            DumpValue::List(ziplist(&blob)?.into_iter().map(Elem::bytes).collect())
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            DumpValue::List(quicklist(r, kind == TYPE_LIST_QUICKLIST_2)?)
        }
        TYPE_SET => {
            let n = r.count(1)?;
            DumpValue::Set(strings(r, n)?)
        }
        TYPE_SET_INTSET => {
            let blob = r.string()?;
            DumpValue::Set(
                intset(&blob)?
                    .into_iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect(),
            )
        }
        TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            DumpValue::Set(listpack(&blob)?.into_iter().map(Elem::bytes).collect())
        }
        TYPE_HASH => {
            let n = r.count(2)?;
            let mut pairs = Vec::with_capacity(n.min(PREALLOC_LIMIT));
            for _ in 0..n {
                pairs.push((r.string()?.into_owned(), r.string()?.into_owned()));
            }
            DumpValue::Hash(pairs)
        }
        TYPE_HASH_ZIPMAP => {
            let blob = r.string()?;
            let pairs = zipmap(&blob)?;
            DumpValue::Hash(
                pairs
                    .into_iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
            )
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            let elems = if kind == TYPE_HASH_ZIPLIST {
                ziplist(&blob)?
            } else {
                listpack(&blob)?
            };
            let pairs = pairs(elems)?.map(|(f, v)| (f.bytes(), v.bytes())).collect();
            DumpValue::Hash(pairs)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let binary = kind == TYPE_ZSET_2;
            let n = r.count(if binary { 9 } else { 2 })?;
            let mut pairs = Vec::with_capacity(n.min(PREALLOC_LIMIT));
            for _ in 0..n {
                let member = r.string()?.into_owned();
                let score = if binary {
                    f64::from_le_bytes(r.array()?)
                } else {
                    old_score(r)?
                };
                pairs.push((member, score));
            }
            DumpValue::SortedSet(pairs)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = r.string()?;
            let elems = if kind == TYPE_ZSET_ZIPLIST {
                ziplist(&blob)?
            } else {
                listpack(&blob)?
            };
            let pairs = pairs(elems)?.map(|(m, s)| Ok((m.bytes(), s.score()?)));
            DumpValue::SortedSet(pairs.collect::<Result<_, DumpError>>()?)
        }
        other => return Err(DumpError::UnsupportedType(other)),
    })
}

fn strings(r: &mut Reader<'_>, n: usize) -> Result<Vec<Vec<u8>>, DumpError> {
    (0..n).map(|_| r.string().map(Cow::into_owned)).collect()
}

/// A type-3 zset score: a length byte (253 NaN, 254 +inf, 255 -inf) then that many ASCII bytes.
fn old_score(r: &mut Reader<'_>) -> Result<f64, DumpError> {
    match r.byte()? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => parse_score(r.take(usize::from(n))?),
    }
}

fn pairs(elems: Vec<Elem<'_>>) -> Result<impl Iterator<Item = (Elem<'_>, Elem<'_>)>, DumpError> {
    if !elems.len().is_multiple_of(2) {
        return Err(DumpError::UnpairedElement);
    }
    let mut it = elems.into_iter();
    Ok(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
}

/// Quicklist nodes: ziplists (type 14) or, for type 18, a container tag then a listpack or a
/// single plain element. Empty nodes are skipped, as Redis does.
fn quicklist(r: &mut Reader<'_>, v2: bool) -> Result<Vec<Vec<u8>>, DumpError> {
    let nodes = r.count(if v2 { 2 } else { 1 })?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = if v2 {
            let Length::Plain(c) = r.length()? else {
                return Err(DumpError::BadQuicklistNode);
            };
            c
        } else {
            CONTAINER_PACKED
        };
        if container != CONTAINER_PLAIN && container != CONTAINER_PACKED {
            return Err(DumpError::BadQuicklistNode);
        }
        let blob = r.string()?;
        if blob.is_empty() {
            return Err(DumpError::BadQuicklistNode);
        }
        if container == CONTAINER_PLAIN {
            items.push(blob.into_owned());
            continue;
        }
        let elems = if v2 {
            listpack(&blob)?
        } else {
            ziplist(&blob)?
        };
        items.extend(elems.into_iter().map(Elem::bytes));
    }
    Ok(items)
}

/// Every entry of a listpack: `<total bytes u32><count u16>` entries, 0xFF. Each entry is an
/// encoding byte, data, and a back-length that must match the entry's size.
fn listpack(blob: &[u8]) -> Result<Vec<Elem<'_>>, DumpError> {
    const E: DumpError = DumpError::BadListpack;
    let mut r = Reader::new(blob, E);
    let total = u32::from_le_bytes(r.array()?);
    let count = u16::from_le_bytes(r.array()?);
    if usize::try_from(total).ok() != Some(blob.len()) {
        return Err(E);
    }
    r.data = r.data.strip_suffix(&[0xff]).ok_or(E)?;
    let mut out = Vec::with_capacity(usize::from(count).min(r.data.len()));
    while !r.data.is_empty() {
        let before = r.data.len();
        let b0 = r.byte()?;
        let elem = match b0 {
            0x00..=0x7f => Elem::Int(i64::from(b0)),
            0x80..=0xbf => Elem::Str(r.take(usize::from(b0 & 0x3f))?),
            0xc0..=0xdf => {
                // 13-bit two's complement: shift into the top of an i16 and back.
                let u = u16::from(b0 & 0x1f) << 8 | u16::from(r.byte()?);
                Elem::Int(i64::from(((u << 3) as i16) >> 3))
            }
            0xe0..=0xef => {
                let n = usize::from(b0 & 0x0f) << 8 | usize::from(r.byte()?);
                Elem::Str(r.take(n)?)
            }
            0xf0 => {
                let n = usize::try_from(u32::from_le_bytes(r.array()?)).map_err(|_| E)?;
                Elem::Str(r.take(n)?)
            }
            0xf1 => Elem::Int(i64::from(i16::from_le_bytes(r.array()?))),
            0xf2 => {
                let [a, b, c] = r.array()?;
                Elem::Int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8))
            }
            0xf3 => Elem::Int(i64::from(i32::from_le_bytes(r.array()?))),
            0xf4 => Elem::Int(i64::from_le_bytes(r.array()?)),
            _ => return Err(E),
        };
        let (expected, n) = backlen(before - r.data.len());
        if r.take(n)? != &expected[..n] {
            return Err(E);
        }
        out.push(elem);
    }
    if count != u16::MAX && usize::from(count) != out.len() {
        return Err(E);
    }
    Ok(out)
}

/// Every entry of a ziplist: `<zlbytes u32><zltail u32><zllen u16>` entries, 0xFF. Each entry
/// is the previous entry's size (1 or 5 bytes), an encoding, and data.
fn ziplist(blob: &[u8]) -> Result<Vec<Elem<'_>>, DumpError> {
    const E: DumpError = DumpError::BadZiplist;
    let mut r = Reader::new(blob, E);
    let zlbytes = u32::from_le_bytes(r.array()?);
    let zltail = u32::from_le_bytes(r.array()?);
    let zllen = u16::from_le_bytes(r.array()?);
    if usize::try_from(zlbytes).ok() != Some(blob.len()) {
        return Err(E);
    }
    let mut out = Vec::with_capacity(usize::from(zllen).min(blob.len()));
    let (mut prev_size, mut last_offset) = (0, 10);
    loop {
        let offset = blob.len() - r.data.len();
        let prevlen = match r.byte()? {
            0xff => break,
            0xfe => usize::try_from(u32::from_le_bytes(r.array()?)).map_err(|_| E)?,
            n => usize::from(n),
        };
        if prevlen != prev_size {
            return Err(E);
        }
        let enc = r.byte()?;
        let elem = match enc {
            0x00..=0x3f => Elem::Str(r.take(usize::from(enc))?),
            0x40..=0x7f => {
                let n = usize::from(enc & 0x3f) << 8 | usize::from(r.byte()?);
                Elem::Str(r.take(n)?)
            }
            0x80 => {
                let n = usize::try_from(u32::from_be_bytes(r.array()?)).map_err(|_| E)?;
                Elem::Str(r.take(n)?)
            }
            0xc0 => Elem::Int(i64::from(i16::from_le_bytes(r.array()?))),
            0xd0 => Elem::Int(i64::from(i32::from_le_bytes(r.array()?))),
            0xe0 => Elem::Int(i64::from_le_bytes(r.array()?)),
            0xf0 => {
                let [a, b, c] = r.array()?;
                Elem::Int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8))
            }
            0xfe => Elem::Int(i64::from(i8::from_le_bytes(r.array()?))),
            0xf1..=0xfd => Elem::Int(i64::from(enc & 0x0f) - 1),
            _ => return Err(E),
        };
        prev_size = blob.len() - r.data.len() - offset;
        last_offset = offset;
        out.push(elem);
    }
    let count_ok = zllen == u16::MAX || usize::from(zllen) == out.len();
    if !r.data.is_empty() || usize::try_from(zltail).ok() != Some(last_offset) || !count_ok {
        return Err(E);
    }
    Ok(out)
}

/// An intset: `<width u32><count u32>` then `count` little-endian integers of `width` bytes,
/// strictly ascending.
fn intset(blob: &[u8]) -> Result<Vec<i64>, DumpError> {
    const E: DumpError = DumpError::BadIntset;
    let mut r = Reader::new(blob, E);
    let width = u32::from_le_bytes(r.array()?);
    let count = u32::from_le_bytes(r.array()?);
    let width = match width {
        2 | 4 | 8 => width as usize,
        _ => return Err(E),
    };
    if usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(width))
        != Some(r.data.len())
    {
        return Err(E);
    }
    let values: Vec<i64> = r
        .data
        .chunks_exact(width)
        .map(|c| {
            let mut le = [if c.last().is_some_and(|&b| b & 0x80 != 0) {
                0xff
            } else {
                0
            }; 8];
            le[..width].copy_from_slice(c);
            i64::from_le_bytes(le)
        })
        .collect();
    if values.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(E);
    }
    Ok(values)
}

type BytePair<'a> = (&'a [u8], &'a [u8]);

/// A zipmap (Redis < 2.6 hashes): `<count u8>` then `<len>key<len><free>value<free bytes>`
/// entries and 0xFF, where a length is one byte below 254, else 254 and a u32.
fn zipmap(blob: &[u8]) -> Result<Vec<BytePair<'_>>, DumpError> {
    const E: DumpError = DumpError::BadZipmap;
    let mut r = Reader::new(blob, E);
    let count = r.byte()?;
    let mut out = Vec::new();
    let len = |first: u8, r: &mut Reader<'_>| -> Result<usize, DumpError> {
        match first {
            0..=253 => Ok(usize::from(first)),
            _ => usize::try_from(u32::from_le_bytes(r.array()?)).map_err(|_| E),
        }
    };
    loop {
        let first = r.byte()?;
        if first == 0xff {
            break;
        }
        let key_len = len(first, &mut r)?;
        let key = r.take(key_len)?;
        let first = r.byte()?;
        let value_len = len(first, &mut r)?;
        let free = r.byte()?;
        let value = r.take(value_len)?;
        r.take(usize::from(free))?;
        out.push((key, value));
    }
    if !r.data.is_empty() || (count < 254 && usize::from(count) != out.len()) {
        return Err(E);
    }
    Ok(out)
}

/// What Redis refuses to load even when the encoding parses: empty collections, duplicate
/// members or fields, NaN scores.
fn validate(value: &DumpValue) -> Result<(), DumpError> {
    fn unique<'a>(keys: impl ExactSizeIterator<Item = &'a Vec<u8>>) -> Result<(), DumpError> {
        if keys.len() == 0 {
            return Err(DumpError::EmptyCollection);
        }
        let mut seen = HashSet::with_capacity(keys.len());
        if keys.map(Vec::as_slice).all(|k| seen.insert(k)) {
            Ok(())
        } else {
            Err(DumpError::DuplicateMember)
        }
    }
    match value {
        DumpValue::String(_) => Ok(()),
        DumpValue::List(items) if items.is_empty() => Err(DumpError::EmptyCollection),
        DumpValue::List(_) => Ok(()),
        DumpValue::Set(members) => unique(members.iter()),
        DumpValue::Hash(pairs) => unique(pairs.iter().map(|(f, _)| f)),
        DumpValue::SortedSet(pairs) if pairs.iter().any(|(_, s)| s.is_nan()) => {
            Err(DumpError::BadScore)
        }
        DumpValue::SortedSet(pairs) => unique(pairs.iter().map(|(m, _)| m)),
    }
}
