//! Bitmaps and bit fields on string values with Redis 7.0 semantics: GETBIT, SETBIT, BITCOUNT,
//! BITPOS, BITOP and BITFIELD / BITFIELD_RO (`bitops.c`).
//!
//! Bit 0 is the most significant bit of byte 0. Reads past the end see zero bits; writes grow the
//! string with zero bytes. Range rules, the BITPOS corner cases and the BITFIELD overflow checks
//! are ported from Redis branch by branch (including its quirks, noted where they show), so the
//! replies match redis-server's. Missing keys are the caller's business: Redis treats them as empty
//! strings except where noted.

/// Largest bit offset Redis accepts with the default `proto-max-bulk-len` of 512MB: 2^32 - 1.
pub const MAX_BIT_OFFSET: u64 = 512 * 1024 * 1024 * 8 - 1;

/// Bit `offset` of `value` (0 past the end). GETBIT.
pub fn get_bit(value: &[u8], offset: u64) -> u8 {
    let byte = byte_at(value, offset >> 3);
    (byte >> (7 - (offset & 7))) & 1
}

/// SETBIT: sets bit `offset` and returns its previous value. The string grows with zero bytes to
/// hold the bit even when clearing it, as Redis does. The caller rejects offsets past
/// [`MAX_BIT_OFFSET`] (see [`parse_bit_offset`]); such an offset is left unwritten here.
pub fn set_bit(value: &mut Vec<u8>, offset: u64, bit: bool) -> u8 {
    if offset > MAX_BIT_OFFSET || !grow_to_bit(value, offset) {
        return get_bit(value, offset);
    }
    let mask = 1u8 << (7 - (offset & 7));
    let Some(byte) = usize::try_from(offset >> 3)
        .ok()
        .and_then(|index| value.get_mut(index))
    else {
        return 0;
    };
    let previous = u8::from(*byte & mask != 0);
    if bit {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    previous
}

/// Unit of BITCOUNT / BITPOS ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Byte,
    Bit,
}

impl Unit {
    /// `BYTE` or `BIT`, any case; `None` is a syntax error.
    pub fn parse(text: &[u8]) -> Option<Unit> {
        if text.eq_ignore_ascii_case(b"byte") {
            Some(Unit::Byte)
        } else if text.eq_ignore_ascii_case(b"bit") {
            Some(Unit::Bit)
        } else {
            None
        }
    }
}

/// BITCOUNT, over the whole string or an inclusive `(start, end, unit)` range whose negative
/// indexes count from the end. A missing key counts 0.
pub fn bit_count(value: &[u8], range: Option<(i64, i64, Unit)>) -> u64 {
    let Some((start, end, unit)) = range else {
        return popcount(value);
    };
    // Redis 7.0 answers 0 for two negative indexes in the wrong order before clamping them.
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let Some(span) = clamp_range(value.len(), start, end, unit) else {
        return 0;
    };
    let Some(bytes) = value.get(span.start..=span.end) else {
        return 0;
    };
    // The edge bytes are counted whole; take off the bits outside a BIT range.
    let outside = (byte_at(value, span.start as u64) & span.first_mask).count_ones()
        + (byte_at(value, span.end as u64) & span.last_mask).count_ones();
    popcount(bytes) - u64::from(outside)
}

/// BITPOS: the first bit equal to `bit` in the range, or -1. Without `end`, the string is taken as
/// zero-padded on the right, so looking for 0 in all-ones bytes gives the first position past the
/// range; with `end` it gives -1. `start: None` is the whole string. Redis answers a missing key
/// with -1 when looking for 1 and 0 when looking for 0, which differs from an empty string's -1.
pub fn bit_pos(value: &[u8], bit: bool, start: Option<i64>, end: Option<i64>, unit: Unit) -> i64 {
    let end_given = end.is_some();
    let total = match unit {
        Unit::Byte => value.len() as i64,
        Unit::Bit => (value.len() as i64).saturating_mul(8),
    };
    let Some(span) = clamp_range(
        value.len(),
        start.unwrap_or(0),
        end.unwrap_or(total - 1),
        unit,
    ) else {
        // An empty range holds neither a 0 nor a 1.
        return -1;
    };
    let (mut start, end) = (span.start, span.end);
    let mut bytes = end - start + 1;
    // Looking for 1, bits outside the range read as 0; looking for 0, as 1.
    let masked = |byte: u8, mask: u8| if bit { byte & !mask } else { byte | mask };
    let pos = 'found: {
        if span.first_mask != 0 {
            let mut byte = masked(byte_at(value, start as u64), span.first_mask);
            if span.last_mask != 0 && bytes == 1 {
                byte = masked(byte, span.last_mask);
            }
            let pos = first_bit(&[byte], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - usize::from(span.last_mask != 0);
        if whole > 0 {
            let pos = first_bit(value.get(start..start + whole).unwrap_or_default(), bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[masked(byte_at(value, end as u64), span.last_mask)], bit)
    };
    // With an explicit end, a clear bit found only in the padding is not in the range.
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    }
}

/// BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP: the destination's new value, as long as the longest source, shorter sources padded with
/// zero bytes (a missing key is an empty source). An empty result means Redis deletes the
/// destination; the reply is the result's length. NOT takes exactly one source (the caller checks:
/// "ERR BITOP NOT must be called with a single source key."); here it uses the first.
pub fn bit_op(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let len = sources.iter().map(|source| source.len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut result = vec![0; len];
    for (index, out) in result.iter_mut().enumerate() {
        let byte = |source: &[u8]| source.get(index).copied().unwrap_or(0);
        *out = match op {
            BitOp::Not => !byte(first),
            BitOp::And => rest
                .iter()
                .fold(byte(first), |acc, source| acc & byte(source)),
            BitOp::Or => rest
                .iter()
                .fold(byte(first), |acc, source| acc | byte(source)),
            BitOp::Xor => rest
                .iter()
                .fold(byte(first), |acc, source| acc ^ byte(source)),
        };
    }
    result
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BitfieldType {
    pub signed: bool,
    pub bits: u8,
}

/// BITFIELD overflow behaviour for SET and INCRBY (WRAP is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

impl Overflow {
    /// `WRAP`, `SAT` or `FAIL`, any case; `None` → "ERR Invalid OVERFLOW type specified".
    pub fn parse(text: &[u8]) -> Option<Overflow> {
        [
            (&b"wrap"[..], Overflow::Wrap),
            (b"sat", Overflow::Sat),
            (b"fail", Overflow::Fail),
        ]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, overflow)| overflow)
    }
}

/// Parses `i8`, `u16`... (lowercase prefix, strict decimal width). `None` → "ERR Invalid bitfield
/// type. Use something like i16 u8. Note that u64 is not supported but i64 is."
pub fn parse_type(text: &[u8]) -> Option<BitfieldType> {
    // Redis reads the width with strlen(): it ends at a NUL byte.
    let text = text.split(|&byte| byte == 0).next().unwrap_or_default();
    let (signed, width) = match text.split_first()? {
        (b'i', width) => (true, width),
        (b'u', width) => (false, width),
        _ => return None,
    };
    let kind = BitfieldType {
        signed,
        bits: u8::try_from(parse_i64(width)?).ok()?,
    };
    width_of(kind).map(|_| kind)
}

/// Parses a BITFIELD offset: `100`, or `#3` meaning 3 × the type's width. `None` → "ERR bit offset
/// is not an integer or out of range". Like Redis the `#` product wraps on overflow before the
/// range check (so `#2305843009213693953` with `u8` is bit 8).
pub fn parse_offset(text: &[u8], kind: BitfieldType) -> Option<u64> {
    match text {
        [b'#', index @ ..] if kind.bits > 0 => {
            checked_offset(parse_i64(index)?.wrapping_mul(i64::from(kind.bits)))
        }
        _ => checked_offset(parse_i64(text)?),
    }
}

/// Parses a GETBIT / SETBIT offset (0..=[`MAX_BIT_OFFSET`]), with the same error as BITFIELD's.
pub fn parse_bit_offset(text: &[u8]) -> Option<u64> {
    checked_offset(parse_i64(text)?)
}

/// BITFIELD GET: the field at bit `offset`, zero-padded past the end (0 for an invalid type).
pub fn field_get(value: &[u8], kind: BitfieldType, offset: u64) -> i64 {
    let Some(bits) = width_of(kind) else {
        return 0;
    };
    let raw = read_bits(value, offset, bits);
    if kind.signed {
        sign_extend(raw, bits)
    } else {
        raw as i64
    }
}

/// BITFIELD SET: writes `new` (wrapped, saturated or refused per `overflow`) and returns the
/// previous value; `None` when FAIL refuses it. The string grows to hold the field in every case,
/// FAIL included, since Redis pads it for all SET/INCRBY fields before running them. Invalid types
/// and offsets past [`MAX_BIT_OFFSET`] (both rejected by the parsers) give `None`, untouched.
pub fn field_set(
    value: &mut Vec<u8>,
    kind: BitfieldType,
    offset: u64,
    new: i64,
    overflow: Overflow,
) -> Option<i64> {
    let bits = prepare_write(value, kind, offset)?;
    let previous = field_get(value, kind, offset);
    let stored = if kind.signed {
        match check_signed(new, 0, bits, overflow) {
            Some(_) if overflow == Overflow::Fail => return None,
            Some(limit) => limit as u64,
            None => new as u64,
        }
    } else {
        match check_unsigned(new as u64, 0, bits, overflow) {
            Some(_) if overflow == Overflow::Fail => return None,
            Some(limit) => limit,
            None => new as u64,
        }
    };
    write_bits(value, offset, bits, stored);
    Some(previous)
}

/// BITFIELD INCRBY: adds `delta` (wrapped, saturated or refused per `overflow`) and returns the new
/// value; `None` when FAIL refuses it. Growth and invalid arguments as [`field_set`].
pub fn field_incr(
    value: &mut Vec<u8>,
    kind: BitfieldType,
    offset: u64,
    delta: i64,
    overflow: Overflow,
) -> Option<i64> {
    let bits = prepare_write(value, kind, offset)?;
    let old = field_get(value, kind, offset);
    let new = if kind.signed {
        match check_signed(old, delta, bits, overflow) {
            Some(_) if overflow == Overflow::Fail => return None,
            Some(limit) => limit,
            None => old.wrapping_add(delta),
        }
    } else {
        let old = old as u64;
        match check_unsigned(old, delta, bits, overflow) {
            Some(_) if overflow == Overflow::Fail => return None,
            Some(limit) => limit as i64,
            None => old.wrapping_add(delta as u64) as i64,
        }
    };
    write_bits(value, offset, bits, new as u64);
    Some(new)
}

/// An inclusive byte range with the bits to ignore in its edge bytes (BIT unit).
struct Span {
    start: usize,
    end: usize,
    first_mask: u8,
    last_mask: u8,
}

/// Redis's index conversion for BITCOUNT / BITPOS: negative from the end, clamped to the string,
/// BIT offsets turned into bytes plus edge masks. `None` when the range is empty.
fn clamp_range(len: usize, start: i64, end: i64, unit: Unit) -> Option<Span> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => (len as i64).saturating_mul(8),
    };
    // `total` is not negative, so adding it to a negative index cannot overflow.
    let start = if start < 0 { start + total } else { start }.max(0);
    let end = if end < 0 { end + total } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let span = match unit {
        Unit::Byte => Span {
            start: start as usize,
            end: end as usize,
            first_mask: 0,
            last_mask: 0,
        },
        Unit::Bit => Span {
            start: (start >> 3) as usize,
            end: (end >> 3) as usize,
            first_mask: !(0xffu8 >> (start & 7)),
            last_mask: 0x7fu8 >> (end & 7),
        },
    };
    Some(span)
}

fn byte_at(value: &[u8], index: u64) -> u8 {
    usize::try_from(index)
        .ok()
        .and_then(|index| value.get(index))
        .copied()
        .unwrap_or(0)
}

fn popcount(bytes: &[u8]) -> u64 {
    bytes.iter().map(|byte| u64::from(byte.count_ones())).sum()
}

/// `redisBitpos`: first bit equal to `bit`; if none, -1 for 1 and the first bit past the bytes
/// for 0 (the string counts as zero-padded).
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0 } else { 0xff };
    match bytes.iter().enumerate().find(|&(_, &byte)| byte != skip) {
        Some((index, byte)) => {
            let within = if bit {
                byte.leading_zeros()
            } else {
                byte.leading_ones()
            };
            index as i64 * 8 + i64::from(within)
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// Grows `value` with zero bytes so that bit `last_bit` exists; false past the 512MB limit.
fn grow_to_bit(value: &mut Vec<u8>, last_bit: u64) -> bool {
    // A field may end up to 63 bits after the largest offset.
    if last_bit > MAX_BIT_OFFSET + 63 {
        return false;
    }
    let Ok(len) = usize::try_from((last_bit >> 3) + 1) else {
        return false;
    };
    if value.len() < len {
        value.resize(len, 0);
    }
    true
}

/// Checks a write's type and offset and grows the string for the field; the width in bits.
fn prepare_write(value: &mut Vec<u8>, kind: BitfieldType, offset: u64) -> Option<u32> {
    let bits = width_of(kind)?;
    if offset > MAX_BIT_OFFSET || !grow_to_bit(value, offset + u64::from(bits) - 1) {
        return None;
    }
    Some(bits)
}

/// The width of a supported type (i1..i64, u1..u63).
fn width_of(kind: BitfieldType) -> Option<u32> {
    let max = if kind.signed { 64 } else { 63 };
    (1..=max)
        .contains(&kind.bits)
        .then_some(u32::from(kind.bits))
}

fn checked_offset(offset: i64) -> Option<u64> {
    u64::try_from(offset)
        .ok()
        .filter(|&offset| offset <= MAX_BIT_OFFSET)
}

/// Redis's `string2ll`: optional '-', no '+', no leading zeros, no spaces, must fit in i64.
fn parse_i64(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text {
        [b'-', digits @ ..] => (true, digits),
        _ => (false, text),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude does not fit in i64 but its negation does.
        (magnitude <= 1 << 63).then(|| (magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn read_bits(value: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |acc, index| {
        let bit = offset.saturating_add(index);
        (acc << 1) | u64::from((byte_at(value, bit >> 3) >> (7 - (bit & 7))) & 1)
    })
}

/// Writes the low `bits` bits of `raw` at `offset` (the string was grown to hold them).
fn write_bits(value: &mut [u8], offset: u64, bits: u32, raw: u64) {
    for index in 0..bits {
        let bit = offset + u64::from(index);
        let mask = 1u8 << (7 - (bit & 7));
        let Some(byte) = usize::try_from(bit >> 3)
            .ok()
            .and_then(|at| value.get_mut(at))
        else {
            return;
        };
        if (raw >> (bits - 1 - index)) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

fn sign_extend(raw: u64, bits: u32) -> i64 {
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// `checkSignedBitfieldOverflow`: `Some(result)` when `value + incr` leaves the type (the result
/// is meaningless for FAIL). Ported with Redis's wrapping intermediate values, so its quirk stays:
/// SET i8 of -9223372036854775808 under SAT stores 127.
fn check_signed(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let limit = if value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr)
    {
        max
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        min
    } else {
        return None;
    };
    if overflow != Overflow::Wrap {
        return Some(limit);
    }
    let sum = (value as u64).wrapping_add(incr as u64);
    if bits == 64 {
        return Some(sum as i64);
    }
    // Keep the low bits and copy the field's sign bit into the rest.
    Some(sign_extend(sum & !(u64::MAX << bits), bits))
}

/// `checkUnsignedBitfieldOverflow`, same contract as [`check_signed`] (bits <= 63).
fn check_unsigned(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return None;
    };
    if overflow != Overflow::Wrap {
        return Some(limit);
    }
    Some(value.wrapping_add(incr as u64) & max)
}

#[cfg(test)]
mod tests {
    //! Expected values were observed on redis-server 7.0.15 with the same commands.
    use super::*;

    const BYTE: Unit = Unit::Byte;
    const BIT: Unit = Unit::Bit;

    fn kind(text: &str) -> BitfieldType {
        parse_type(text.as_bytes()).unwrap()
    }

    #[test]
    fn bitcount_matches_redis() {
        let value = b"foobar";
        let cases = [
            (0, 0, BYTE, 4),
            (1, 1, BYTE, 6),
            (5, 30, BIT, 17),
            (-2, -1, BYTE, 7),
            (-1, -2, BYTE, 0),
            (-100, -200, BYTE, 0), // 7.0 answers 0 before clamping
            (-100, 0, BYTE, 4),
            (0, -100, BYTE, 4),
            (-5, -1, BIT, 2),
            (0, 1000, BIT, 26),
            (47, 47, BIT, 0),
            (46, 47, BIT, 1),
            (3, 3, BIT, 0),
        ];
        assert_eq!(bit_count(value, None), 26);
        for (start, end, unit, expected) in cases {
            assert_eq!(
                bit_count(value, Some((start, end, unit))),
                expected,
                "{start} {end} {unit:?}"
            );
        }
        assert_eq!(bit_count(b"", None), 0);
        assert_eq!(bit_count(b"", Some((0, 0, BYTE))), 0);
        assert_eq!(bit_count(value, Some((i64::MIN, i64::MAX, BIT))), 26);
    }

    /// BITPOS arguments and reply: value, bit, start, end, unit, reply.
    type Case = (&'static [u8], bool, Option<i64>, Option<i64>, Unit, i64);

    #[test]
    fn bitpos_matches_redis() {
        // (value, bit, start, end, unit, reply)
        let cases: [Case; 30] = [
            (b"\xff\xf0\x00", false, None, None, BYTE, 12),
            (b"\xff\xf0\x00", true, Some(2), None, BYTE, -1),
            (b"\xff\xf0\x00", false, Some(2), None, BYTE, 16),
            (b"\xff\xf0\x00", false, Some(-100), Some(-200), BYTE, -1),
            (b"\xff\xf0\x00", true, Some(-100), Some(-200), BYTE, 0),
            (b"\x00\xff\xf0", true, Some(0), None, BYTE, 8),
            (b"\x00\xff\xf0", true, Some(2), None, BYTE, 16),
            (b"\x00\xff\xf0", true, Some(2), Some(-1), BYTE, 16),
            (b"\x00\xff\xf0", true, Some(7), Some(15), BIT, 8),
            (b"\x00\xff\xf0", false, Some(8), Some(15), BIT, -1),
            (b"\x00\xff\xf0", false, Some(8), Some(19), BIT, -1),
            (b"\x00\xff\xf0", false, Some(8), Some(20), BIT, 20),
            (b"\x00\xff\xf0", true, Some(-4), Some(-1), BIT, -1),
            (b"\x00\x00\x00", true, None, None, BYTE, -1),
            (b"\x00\x00\x00", true, Some(7), Some(-3), BIT, -1),
            (b"\x00\x00\x00", false, None, None, BYTE, 0),
            (b"\x00\x00\x00", false, Some(5), Some(10), BIT, 5),
            // All ones: without an end a clear bit is found past the string, with one it is -1.
            (b"\xff\xff\xff", false, None, None, BYTE, 24),
            (b"\xff\xff\xff", false, Some(0), None, BYTE, 24),
            (b"\xff\xff\xff", false, Some(1), None, BYTE, 24),
            (b"\xff\xff\xff", false, Some(-1), None, BYTE, 24),
            (b"\xff\xff\xff", false, Some(0), Some(-1), BYTE, -1),
            (b"\xff\xff\xff", false, Some(0), Some(2), BYTE, -1),
            (b"\xff\xff\xff", false, Some(3), Some(20), BIT, -1),
            (b"\xff\xff\xff", false, Some(0), Some(-1), BIT, -1),
            (b"\xff\xff\xff", true, Some(-1), None, BYTE, 16),
            (b"\xff\xff\xff", true, Some(2), Some(1), BYTE, -1),
            (b"\xff\xff\xff", false, Some(5), None, BYTE, -1),
            (b"", false, None, None, BYTE, -1), // an empty string, unlike a missing key (0)
            (b"", false, Some(0), Some(0), BYTE, -1),
        ];
        for (value, bit, start, end, unit, expected) in cases {
            assert_eq!(
                bit_pos(value, bit, start, end, unit),
                expected,
                "{value:x?} {bit} {start:?} {end:?} {unit:?}"
            );
        }
        assert_eq!(bit_pos(b"", true, None, None, BYTE), -1);
    }

    #[test]
    fn setbit_getbit_and_bitop_match_redis() {
        // SETBIT sb 100 0 grows to 13 bytes; SETBIT sb 7 1.
        let mut value = Vec::new();
        assert_eq!(set_bit(&mut value, 100, false), 0);
        assert_eq!(value.len(), 13);
        assert_eq!(set_bit(&mut value, 7, true), 0);
        assert_eq!(set_bit(&mut value, 7, true), 1);
        assert_eq!((get_bit(&value, 7), get_bit(&value, 10_000)), (1, 0));
        assert_eq!(value[0], 0x01);
        assert_eq!(bit_op(BitOp::And, &[b"abc", b"a"]), b"a\0\0");
        assert_eq!(bit_op(BitOp::Or, &[b"abc", b"a", b""]), b"abc");
        assert_eq!(bit_op(BitOp::Xor, &[b"abc", b"a"]), b"\0bc");
        assert_eq!(bit_op(BitOp::Not, &[b"\x0f"]), b"\xf0");
        assert_eq!(bit_op(BitOp::And, &[b"", b""]), b"");
        assert_eq!(bit_op(BitOp::Or, &[]), b"");
    }

    /// Runs BITFIELD-like operations the way the reply array reads: Some(n) is an integer, None nil.
    enum Op {
        Get(&'static str, &'static str),
        Set(&'static str, &'static str, i64),
        Incr(&'static str, &'static str, i64),
        Mode(Overflow),
    }

    fn run(value: &mut Vec<u8>, ops: &[Op]) -> Vec<Option<i64>> {
        let mut overflow = Overflow::Wrap;
        let mut replies = Vec::new();
        for op in ops {
            let offset = |text: &str, kind| parse_offset(text.as_bytes(), kind).unwrap();
            replies.push(match *op {
                Op::Get(text, at) => Some(field_get(value, kind(text), offset(at, kind(text)))),
                Op::Set(text, at, new) => {
                    field_set(value, kind(text), offset(at, kind(text)), new, overflow)
                }
                Op::Incr(text, at, delta) => {
                    field_incr(value, kind(text), offset(at, kind(text)), delta, overflow)
                }
                Op::Mode(mode) => {
                    overflow = mode;
                    continue;
                }
            });
        }
        replies
    }

    #[test]
    fn bitfield_matches_redis() {
        use Op::*;
        use Overflow::{Fail, Sat};
        const MAX: i64 = i64::MAX;
        const MIN: i64 = i64::MIN;
        let mut value = Vec::new();
        assert_eq!(
            run(&mut value, &[Incr("i5", "100", 1), Get("u4", "0")]),
            [Some(1), Some(0)]
        );
        let mut value = Vec::new();
        let step = [Incr("u2", "100", 1), Mode(Sat), Incr("u2", "102", 1)];
        assert_eq!(run(&mut value, &step), [Some(1), Some(1)]);
        assert_eq!(run(&mut value, &step), [Some(2), Some(2)]);
        assert_eq!(run(&mut value, &step), [Some(3), Some(3)]);
        assert_eq!(run(&mut value, &step), [Some(0), Some(3)]);
        assert_eq!(run(&mut value, &[Mode(Fail), Incr("u2", "102", 1)]), [None]);
        let cases: Vec<(Vec<Op>, Vec<Option<i64>>)> = vec![
            (
                vec![Set("i64", "0", MAX), Incr("i64", "0", 1), Get("i64", "0")],
                vec![Some(0), Some(MIN), Some(MIN)],
            ),
            (
                vec![
                    Mode(Sat),
                    Set("i64", "0", MAX),
                    Incr("i64", "0", 1),
                    Incr("i64", "0", MIN),
                    Incr("i64", "0", MIN),
                    Incr("i64", "0", -1),
                ],
                vec![Some(0), Some(MAX), Some(-1), Some(MIN), Some(MIN)],
            ),
            (
                vec![
                    Mode(Fail),
                    Set("i64", "0", MIN),
                    Incr("i64", "0", -1),
                    Incr("i64", "0", 1),
                    Get("i64", "0"),
                ],
                vec![Some(0), None, Some(MIN + 1), Some(MIN + 1)],
            ),
            (
                vec![
                    Set("u63", "0", -1),
                    Get("u63", "0"),
                    Incr("u63", "0", 1),
                    Incr("u63", "0", -1),
                ],
                vec![Some(0), Some(MAX), Some(0), Some(MAX)],
            ),
            (
                vec![
                    Mode(Sat),
                    Set("u63", "0", -1),
                    Get("u63", "0"),
                    Incr("u63", "0", 1),
                    Set("u63", "0", 0),
                    Incr("u63", "0", -1),
                    Incr("u63", "0", MIN),
                ],
                vec![Some(0), Some(MAX), Some(MAX), Some(MAX), Some(0), Some(0)],
            ),
            (
                vec![
                    Mode(Fail),
                    Set("u63", "0", -1),
                    Set("u63", "0", MAX),
                    Incr("u63", "0", 1),
                    Incr("u63", "0", -MAX),
                ],
                vec![None, Some(0), None, Some(0)],
            ),
            (
                vec![
                    Set("i64", "3", -1),
                    Get("i64", "3"),
                    Get("u8", "0"),
                    Get("u8", "8"),
                ],
                vec![Some(0), Some(-1), Some(31), Some(255)],
            ),
            (
                vec![
                    Set("i8", "0", 200),
                    Get("i8", "0"),
                    Incr("i8", "0", -100),
                    Incr("i8", "0", 300),
                ],
                vec![Some(0), Some(-56), Some(100), Some(-112)],
            ),
            (
                // Redis's SAT check wraps for i64::MIN and saturates it to the maximum.
                vec![
                    Mode(Sat),
                    Set("i8", "0", 200),
                    Set("i8", "0", -200),
                    Incr("i8", "0", -1),
                    Set("i8", "0", MIN),
                    Get("i8", "0"),
                    Set("i8", "0", MAX),
                    Get("i8", "0"),
                ],
                vec![
                    Some(0),
                    Some(127),
                    Some(-128),
                    Some(-128),
                    Some(127),
                    Some(127),
                    Some(127),
                ],
            ),
            (
                vec![
                    Mode(Fail),
                    Set("u8", "0", 256),
                    Set("u8", "0", -1),
                    Set("u8", "0", 255),
                    Incr("u8", "0", 1),
                    Incr("u8", "0", -256),
                    Incr("u8", "0", -255),
                ],
                vec![None, None, Some(0), None, None, Some(0)],
            ),
            (
                vec![
                    Set("i1", "0", 1),
                    Get("i1", "0"),
                    Get("u1", "0"),
                    Incr("i1", "0", 1),
                    Mode(Sat),
                    Incr("i1", "0", 5),
                ],
                vec![Some(0), Some(-1), Some(1), Some(0), Some(0)],
            ),
        ];
        for (ops, expected) in cases {
            let mut value = Vec::new();
            assert_eq!(run(&mut value, &ops), expected);
        }
        // BITFIELD i64w SET i64 3 -1 left 1f ff ff ff ff ff ff ff e0.
        let mut value = Vec::new();
        run(&mut value, &[Set("i64", "3", -1)]);
        assert_eq!(value, b"\x1f\xff\xff\xff\xff\xff\xff\xff\xe0");
        // Growth: SET u8 #10 255 makes 11 bytes; a refused FAIL write still pads the string.
        let mut value = Vec::new();
        assert_eq!(run(&mut value, &[Set("u8", "#10", 255)]), [Some(0)]);
        assert_eq!(value.len(), 11);
        let reads = [
            Get("u8", "#10"),
            Get("i8", "80"),
            Get("u16", "84"),
            Get("i64", "1000"),
        ];
        assert_eq!(
            run(&mut value, &reads),
            [Some(255), Some(-1), Some(61440), Some(0)]
        );
        let mut value = Vec::new();
        assert_eq!(run(&mut value, &[Mode(Fail), Incr("u2", "0", 5)]), [None]);
        assert_eq!(value, b"\0");
    }

    #[test]
    fn bitfield_arguments_parse_as_redis() {
        for good in ["i8", "u8", "i64", "u63", "u1", "i1"] {
            assert!(parse_type(good.as_bytes()).is_some(), "{good}");
        }
        for bad in [
            "u64", "i65", "i0", "u0", "I8", "U8", "i", "", "i08", "i+8", "i-8", "i 8", "x8",
        ] {
            assert!(parse_type(bad.as_bytes()).is_none(), "{bad}");
        }
        let u8_type = kind("u8");
        let offsets = [
            ("0", Some(0)),
            ("7", Some(7)),
            ("#1", Some(8)),
            ("4294967295", Some(MAX_BIT_OFFSET)),
            ("#536870911", Some(4_294_967_288)),
            ("#2305843009213693953", Some(8)), // Redis's product wraps
            ("-1", None),
            ("#-1", None),
            ("01", None),
            ("+1", None),
            ("4294967296", None),
            ("#536870912", None),
            ("#9223372036854775807", None),
            ("9223372036854775808", None),
            ("", None),
            ("#", None),
            ("1 ", None),
            ("##1", None),
            ("1e3", None),
        ];
        for (text, expected) in offsets {
            assert_eq!(parse_offset(text.as_bytes(), u8_type), expected, "{text}");
        }
        assert_eq!(parse_bit_offset(b"#1"), None);
        assert_eq!(parse_bit_offset(b"4294967295"), Some(MAX_BIT_OFFSET));
        assert_eq!(Overflow::parse(b"sAt"), Some(Overflow::Sat));
        assert_eq!(Unit::parse(b"Bit"), Some(Unit::Bit));
    }

    #[test]
    fn out_of_contract_arguments_do_not_panic() {
        let mut value = b"ab".to_vec();
        let invalid = BitfieldType {
            signed: false,
            bits: 64,
        };
        assert_eq!(field_get(&value, invalid, 0), 0);
        assert_eq!(field_set(&mut value, invalid, 0, 1, Overflow::Wrap), None);
        assert_eq!(
            field_incr(
                &mut value,
                BitfieldType {
                    signed: true,
                    bits: 0
                },
                0,
                1,
                Overflow::Sat
            ),
            None
        );
        assert_eq!(
            field_set(&mut value, kind("i8"), u64::MAX, 1, Overflow::Wrap),
            None
        );
        assert_eq!(set_bit(&mut value, u64::MAX, true), 0);
        assert_eq!(set_bit(&mut value, MAX_BIT_OFFSET + 1, true), 0);
        assert_eq!(field_get(&value, kind("i64"), u64::MAX - 3), 0);
        assert_eq!(get_bit(&value, u64::MAX), 0);
        assert_eq!(value, b"ab");
        // Redis: BITPOS ab 0|1 -9223372036854775808 -9223372036854775808 BIT gives 0 and -1.
        assert_eq!(
            bit_pos(&value, false, Some(i64::MIN), Some(i64::MIN), BIT),
            0
        );
        assert_eq!(
            bit_pos(&value, true, Some(i64::MIN), Some(i64::MIN), BIT),
            -1
        );
        assert_eq!(bit_count(&value, Some((i64::MAX, i64::MIN, BIT))), 0);
    }
}
