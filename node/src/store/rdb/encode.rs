//! Writing DUMP payloads in the encodings Redis 7.0 itself picks.

use super::*;

/// Serializes `value` as a complete DUMP payload that Redis 7.0+ accepts in `RESTORE`.
///
/// The value should be what Redis could hold: collections non-empty, set members, hash fields and
/// sorted-set members unique, scores not NaN. Otherwise Redis (and [`decode`]) reject the payload.
#[must_use]
pub fn encode(value: &DumpValue) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        DumpValue::String(s) => {
            out.push(TYPE_STRING);
            put_string(&mut out, s);
        }
        DumpValue::List(items) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            put_quicklist(&mut out, items);
        }
        DumpValue::Set(members) => match intset_blob(members) {
            Some(blob) => {
                out.push(TYPE_SET_INTSET);
                put_raw(&mut out, &blob);
            }
            None => {
                out.push(TYPE_SET);
                put_len(&mut out, members.len());
                for member in members {
                    put_string(&mut out, member);
                }
            }
        },
        DumpValue::Hash(pairs) => {
            let small = pairs.len() <= LISTPACK_MAX_ENTRIES
                && pairs
                    .iter()
                    .all(|(f, v)| f.len() <= LISTPACK_MAX_VALUE && v.len() <= LISTPACK_MAX_VALUE);
            if small {
                let mut lp = Listpack::default();
                for (field, value) in pairs {
                    lp.push(field);
                    lp.push(value);
                }
                out.push(TYPE_HASH_LISTPACK);
                put_raw(&mut out, &lp.finish());
            } else {
                out.push(TYPE_HASH);
                put_len(&mut out, pairs.len());
                for (field, value) in pairs {
                    put_string(&mut out, field);
                    put_string(&mut out, value);
                }
            }
        }
        DumpValue::SortedSet(pairs) => {
            let small = pairs.len() <= LISTPACK_MAX_ENTRIES
                && pairs.iter().all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE);
            if small {
                // Redis reads a listpack zset in stored order, so it must be sorted by (score,
                // member). -0.0 and 0.0 compare equal there, hence the normalization.
                let key = |s: f64| if s == 0.0 { 0.0 } else { s };
                let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
                sorted.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)).then_with(|| a.0.cmp(&b.0)));
                let mut lp = Listpack::default();
                for (member, score) in sorted {
                    lp.push(member);
                    lp.push_score(*score);
                }
                out.push(TYPE_ZSET_LISTPACK);
                put_raw(&mut out, &lp.finish());
            } else {
                out.push(TYPE_ZSET_2);
                put_len(&mut out, pairs.len());
                for (member, score) in pairs {
                    put_string(&mut out, member);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// An RDB length prefix: 6-bit, 14-bit, 32-bit or 64-bit (the last two big endian).
fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn put_raw(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// A string, integer-encoded when it is the canonical form of a 32-bit integer, as Redis does.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    match canonical_int(s) {
        Some(v) if i8::try_from(v).is_ok() => out.extend_from_slice(&[0xc0, v as u8]),
        Some(v) if i16::try_from(v).is_ok() => {
            out.push(0xc1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        Some(v) if i32::try_from(v).is_ok() => {
            out.push(0xc2);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => put_raw(out, s),
    }
}

/// The integer `s` spells when it is exactly how Redis prints it (no sign, space or leading
/// zero it would drop): only then may it be stored as an integer and read back identical.
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (v.to_string().as_bytes() == s).then_some(v)
}

/// The members as an intset blob, when they are all integers and few enough that Redis would
/// keep them as one.
fn intset_blob(members: &[Vec<u8>]) -> Option<Vec<u8>> {
    if members.is_empty() || members.len() > INTSET_MAX_ENTRIES {
        return None;
    }
    let mut values = members
        .iter()
        .map(|m| canonical_int(m))
        .collect::<Option<Vec<i64>>>()?;
    values.sort_unstable();
    values.dedup();
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut blob = Vec::with_capacity(8 + width * values.len());
    blob.extend_from_slice(&(width as u32).to_le_bytes());
    blob.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        blob.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Some(blob)
}

/// A `QUICKLIST_2` list: listpack nodes of about 8 KiB, plain nodes for huge elements.
fn put_quicklist(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    enum Node<'a> {
        Packed(Vec<u8>),
        Plain(&'a [u8]),
    }
    let mut nodes = Vec::new();
    let mut current = Listpack::default();
    for item in items {
        if item.len() > PLAIN_NODE_THRESHOLD {
            if current.count > 0 {
                nodes.push(Node::Packed(std::mem::take(&mut current).finish()));
            }
            nodes.push(Node::Plain(item));
            continue;
        }
        let mark = current.body.len();
        current.push(item);
        if current.count > 1 && current.body.len() + 7 > QUICKLIST_NODE_BYTES {
            current.body.truncate(mark);
            current.count -= 1;
            nodes.push(Node::Packed(std::mem::take(&mut current).finish()));
            current.push(item);
        }
    }
    if current.count > 0 {
        nodes.push(Node::Packed(current.finish()));
    }
    put_len(out, nodes.len());
    for node in nodes {
        match node {
            Node::Packed(blob) => {
                put_len(out, CONTAINER_PACKED as usize);
                put_raw(out, &blob);
            }
            Node::Plain(item) => {
                put_len(out, CONTAINER_PLAIN as usize);
                put_raw(out, item);
            }
        }
    }
}

/// A listpack under construction: entries only; [`Listpack::finish`] adds header and terminator.
#[derive(Default)]
pub(super) struct Listpack {
    body: Vec<u8>,
    count: usize,
}

impl Listpack {
    pub(super) fn push(&mut self, s: &[u8]) {
        let start = self.body.len();
        match canonical_int(s) {
            Some(v) => self.put_int(v),
            None => {
                let n = s.len();
                if n < 64 {
                    self.body.push(0x80 | n as u8);
                } else if n < 4096 {
                    self.body
                        .extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
                } else {
                    self.body.push(0xf0);
                    self.body.extend_from_slice(&(n as u32).to_le_bytes());
                }
                self.body.extend_from_slice(s);
            }
        }
        self.end_entry(start);
    }

    /// A zset score as Redis stores it: integral scores as integers, others as a string that
    /// strtod reads back exactly (Rust prints the shortest round-tripping digits).
    pub(super) fn push_score(&mut self, score: f64) {
        let integral = score.fract() == 0.0 && score.abs() < (1u64 << 53) as f64;
        if integral && !(score == 0.0 && score.is_sign_negative()) {
            let start = self.body.len();
            self.put_int(score as i64);
            self.end_entry(start);
        } else {
            self.push(format!("{score:e}").as_bytes());
        }
    }

    /// The smallest listpack integer encoding holding `v`.
    fn put_int(&mut self, v: i64) {
        let b = &mut self.body;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            b.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        } else if let Ok(v) = i16::try_from(v) {
            b.push(0xf1);
            b.extend_from_slice(&v.to_le_bytes());
        } else if (-(1 << 23)..1 << 23).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(v) = i32::try_from(v) {
            b.push(0xf3);
            b.extend_from_slice(&v.to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn end_entry(&mut self, start: usize) {
        let (bytes, n) = backlen(self.body.len() - start);
        self.body.extend_from_slice(&bytes[..n]);
        self.count += 1;
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let total = 6 + self.body.len() + 1;
        let mut lp = Vec::with_capacity(total);
        lp.extend_from_slice(&(total as u32).to_le_bytes());
        // 65535 tells readers to count the entries themselves.
        lp.extend_from_slice(&(self.count.min(65535) as u16).to_le_bytes());
        lp.extend_from_slice(&self.body);
        lp.push(0xff);
        lp
    }
}
