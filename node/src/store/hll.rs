//! Redis-compatible HyperLogLog kept in a plain string value (PFADD, PFCOUNT, PFMERGE).
//!
//! The bytes are exactly Redis 7.0's (`hyperloglog.c`), so a value written by redis-server (GET,
//! restored DUMP payload) reads correctly here and the other way round:
//!
//! * a 16-byte header: `"HYLL"`, the encoding (0 dense, 1 sparse), 3 unused bytes, the cached
//!   cardinality as 8 little-endian bytes whose top bit (MSB of byte 15) marks the cache invalid;
//! * 16384 registers of 6 bits: dense packs them into 12288 bytes (least significant bits first);
//!   sparse run-length encodes them with ZERO (`00xxxxxx`), XZERO (`01xxxxxx yyyyyyyy`) and VAL
//!   (`1vvvvvxx`) opcodes and is promoted to dense past `hll-sparse-max-bytes` (3000) or when a
//!   register exceeds 32;
//! * MurmurHash64A with seed `0xadc83b19` picks the register and the run of zeros, and PFCOUNT uses
//!   Ertl's improved estimator (`hllTau` / `hllSigma`).
//!
//! Sparse updates follow Redis step by step (same splits, same merging of adjacent VAL opcodes), so
//! the bytes stay identical to what redis-server would hold after the same commands. Corrupted
//! values never panic: they are reported as [`HllError::Corrupt`], as Redis does.

use std::fmt;

/// Header length: magic, encoding, 3 unused bytes, cached cardinality.
const HDR: usize = 16;
/// Register index bits (precision): 2^14 registers.
const P: u32 = 14;
/// Hash bits left for the run of zeros.
const Q: usize = 64 - P as usize;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Bits per dense register.
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
/// Length of a dense HyperLogLog value.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * REGISTER_BITS).div_ceil(8);
/// Redis's default `hll-sparse-max-bytes`: a sparse value longer than this is promoted to dense.
pub const SPARSE_MAX_BYTES: usize = 3000;

const ENCODING_DENSE: u8 = 0;
const ENCODING_SPARSE: u8 = 1;
const MAGIC: &[u8; 4] = b"HYLL";
const HASH_SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2), the asymptotic bias constant of the estimator.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;

/// Why a value cannot be used as a HyperLogLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// Not a HyperLogLog string (bad length, magic or encoding).
    NotHll,
    /// Header fine but the sparse registers do not add up to 16384.
    Corrupt,
}

impl HllError {
    /// The error line Redis replies with (without the leading `-`).
    pub fn message(self) -> &'static str {
        match self {
            HllError::NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupt => "INVALIDOBJ Corrupted HLL object detected",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.message())
    }
}

impl std::error::Error for HllError {}

/// An empty HyperLogLog as PFADD creates it: sparse, one XZERO opcode covering all 16384
/// registers, cached cardinality 0 (valid).
pub fn new_hll() -> Vec<u8> {
    let mut value = Vec::with_capacity(HDR + 2);
    value.extend_from_slice(MAGIC);
    value.extend_from_slice(&[ENCODING_SPARSE, 0, 0, 0]);
    value.extend_from_slice(&[0; 8]);
    push_xzero(&mut value, REGISTERS);
    value
}

/// Redis's `isHLLObjectOrReply` checks: header present, magic, known encoding, exact dense length.
/// Sparse opcodes are only checked when they are used ([`HllError::Corrupt`]).
pub fn is_valid(bytes: &[u8]) -> bool {
    bytes.len() >= HDR
        && bytes.starts_with(MAGIC)
        && match bytes.get(4) {
            Some(&ENCODING_DENSE) => bytes.len() == DENSE_SIZE,
            Some(&ENCODING_SPARSE) => true,
            _ => false,
        }
}

/// Marks the cached cardinality stale (sets the MSB of byte 15), keeping the other bytes as Redis
/// does. PFADD on a missing key does this even without elements: for Redis's exact bytes, create
/// with `new_hll()`, call [`add`], then this; the reply is 1.
pub fn invalidate_cache(bytes: &mut [u8]) {
    if let Some(byte) = bytes.get_mut(HDR - 1) {
        *byte |= 0x80;
    }
}

/// PFADD into an existing value: true when a register changed (reply 1, the key is modified),
/// in which case the cached cardinality is invalidated. Sparse values are updated in place and
/// promoted to dense as Redis does. On `Corrupt`, `bytes` may keep the updates made before the
/// bad opcode was met (Redis keeps them too); callers may as well discard them.
pub fn add(bytes: &mut Vec<u8>, elements: &[&[u8]]) -> Result<bool, HllError> {
    if !is_valid(bytes) {
        return Err(HllError::NotHll);
    }
    let mut updated = false;
    for element in elements {
        let (index, count) = pattern(element);
        updated |= set_register(bytes, index, count, SPARSE_MAX_BYTES)?;
    }
    if updated {
        invalidate_cache(bytes);
    }
    Ok(updated)
}

/// PFCOUNT of one key: the cached cardinality when valid, otherwise the estimate, which is then
/// written into the cache: the value changes exactly when the cache was invalid (MSB of byte 15
/// set), and Redis then counts it as a write and propagates it.
/// Callers reply with `card as i64`: Redis replies with the 64-bit pattern as a signed integer
/// (an overflowing estimate is `1 << 63`, replied as -9223372036854775808).
pub fn count(bytes: &mut [u8]) -> Result<u64, HllError> {
    if !is_valid(bytes) {
        return Err(HllError::NotHll);
    }
    let mut card = [0; 8];
    card.copy_from_slice(bytes.get(8..HDR).ok_or(HllError::NotHll)?);
    if card[7] & 0x80 == 0 {
        return Ok(u64::from_le_bytes(card));
    }
    let mut registers = [0; REGISTERS];
    merge_into(&mut registers, bytes)?;
    let estimate = estimate(&registers);
    if let Some(cache) = bytes.get_mut(8..HDR) {
        cache.copy_from_slice(&estimate.to_le_bytes());
    }
    Ok(estimate)
}

/// PFCOUNT of several keys: the cardinality of their union, without touching any cache. Pass the
/// existing values only (Redis skips missing keys); errors come from the first bad value.
pub fn count_union(values: &[&[u8]]) -> Result<u64, HllError> {
    let mut registers = [0; REGISTERS];
    for value in values {
        if !is_valid(value) {
            return Err(HllError::NotHll);
        }
        merge_into(&mut registers, value)?;
    }
    Ok(estimate(&registers))
}

/// PFMERGE: the new value of the destination. `target` is its current value (`None` when missing),
/// which takes part in the union, and is checked first. As in Redis 7.0 the result is dense when
/// any input is dense and otherwise stays sparse (promoted past 3000 bytes), built by setting each
/// non-zero register in order, with the cached cardinality invalidated.
pub fn merge(target: Option<&[u8]>, sources: &[&[u8]]) -> Result<Vec<u8>, HllError> {
    let mut registers = [0; REGISTERS];
    let mut use_dense = false;
    for value in target.iter().chain(sources) {
        if !is_valid(value) {
            return Err(HllError::NotHll);
        }
        use_dense |= value.get(4) == Some(&ENCODING_DENSE);
        merge_into(&mut registers, value)?;
    }
    let mut result = target.map_or_else(new_hll, <[u8]>::to_vec);
    if use_dense {
        to_dense(&mut result)?;
    }
    for (index, &count) in registers.iter().enumerate() {
        if count != 0 {
            set_register(&mut result, index, count, SPARSE_MAX_BYTES)?;
        }
    }
    invalidate_cache(&mut result);
    Ok(result)
}

/// MurmurHash64A exactly as Redis's copy (little-endian 8-byte blocks).
fn murmur_hash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut hash = seed ^ (key.len() as u64).wrapping_mul(M);
    let (blocks, tail) = key.as_chunks::<8>();
    for block in blocks {
        let mut k = u64::from_le_bytes(*block);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        hash ^= k;
        hash = hash.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (shift, &byte) in tail.iter().enumerate() {
            hash ^= u64::from(byte) << (8 * shift);
        }
        hash = hash.wrapping_mul(M);
    }
    hash ^= hash >> R;
    hash = hash.wrapping_mul(M);
    hash ^= hash >> R;
    hash
}

/// `hllPatLen`: the register an element maps to and the length of its "000..1" pattern (1..=51).
fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The forced bit bounds the count at Q + 1 even for an all-zero hash.
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `index` of dense register bytes. The last register's second byte lies past the end
/// (Redis reads the string's NUL terminator there), hence the zero default.
fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers.get(byte).copied().unwrap_or(0));
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((low >> shift) | (high << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let (max, value) = (u16::from(REGISTER_MAX), u16::from(value));
    if let Some(low) = registers.get_mut(byte) {
        *low = (*low & !((max << shift) as u8)) | (value << shift) as u8;
    }
    if let Some(high) = registers.get_mut(byte + 1) {
        *high = (*high & !((max >> (8 - shift)) as u8)) | (value >> (8 - shift)) as u8;
    }
}

/// Raises register `index` to `count` if that is larger (`hllDenseSet` / `hllSparseSet`).
fn set_register(
    value: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, HllError> {
    if count == 0 {
        return Ok(false);
    }
    match value.get(4) {
        Some(&ENCODING_DENSE) => Ok(dense_raise(value, index, count)),
        Some(&ENCODING_SPARSE) => sparse_set(value, index, count, sparse_max),
        _ => Err(HllError::NotHll),
    }
}

fn dense_raise(value: &mut [u8], index: usize, count: u8) -> bool {
    let registers = value.get_mut(HDR..).unwrap_or_default();
    if count > dense_get(registers, index) {
        dense_put(registers, index, count);
        true
    } else {
        false
    }
}

/// One sparse opcode at `at`: (opcode bytes, registers covered, value; 0 for ZERO/XZERO). An XZERO
/// cut short reads a zero second byte, as Redis reads the NUL terminator.
fn opcode(value: &[u8], at: usize) -> (usize, usize, u8) {
    let byte = value.get(at).copied().unwrap_or(0);
    if byte & 0x80 != 0 {
        (1, usize::from(byte & 0x3) + 1, ((byte >> 2) & 0x1f) + 1)
    } else if byte & 0x40 != 0 {
        let low = value.get(at + 1).copied().unwrap_or(0);
        (2, (usize::from(byte & 0x3f) << 8 | usize::from(low)) + 1, 0)
    } else {
        (1, usize::from(byte & 0x3f) + 1, 0)
    }
}

fn val_opcode(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let len = len - 1;
    out.push(0x40 | ((len >> 8) as u8 & 0x3f));
    out.push((len & 0xff) as u8);
}

/// Appends a run of zero registers as ZERO (up to 64) or XZERO, as Redis splits them.
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

/// Folds a valid value's registers into `max` (`hllMerge`); sparse runs must cover exactly 16384.
fn merge_into(max: &mut [u8; REGISTERS], value: &[u8]) -> Result<(), HllError> {
    let body = value.get(HDR..).unwrap_or_default();
    if value.get(4) == Some(&ENCODING_DENSE) {
        for (index, slot) in max.iter_mut().enumerate() {
            *slot = (*slot).max(dense_get(body, index));
        }
        return Ok(());
    }
    let (mut at, mut index) = (0, 0);
    while at < body.len() {
        let (len, span, register) = opcode(body, at);
        if register != 0 {
            let run = max.get_mut(index..index + span).ok_or(HllError::Corrupt)?;
            for slot in run {
                *slot = (*slot).max(register);
            }
        }
        at += len;
        index += span;
        // Past the end already means corrupt; stopping also bounds the work on huge garbage.
        if index > REGISTERS {
            return Err(HllError::Corrupt);
        }
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupt)
    }
}

/// `hllSparseToDense`: same header (cache bytes included), encoding set to dense.
fn to_dense(value: &mut Vec<u8>) -> Result<(), HllError> {
    if value.get(4) == Some(&ENCODING_DENSE) {
        return Ok(());
    }
    let mut registers = [0; REGISTERS];
    merge_into(&mut registers, value)?;
    let mut dense = vec![0; DENSE_SIZE];
    dense[..HDR].copy_from_slice(value.get(..HDR).ok_or(HllError::NotHll)?);
    dense[4] = ENCODING_DENSE;
    for (index, &register) in registers.iter().enumerate() {
        if register != 0 {
            dense_put(&mut dense[HDR..], index, register);
        }
    }
    *value = dense;
    Ok(())
}

/// `hllSparseSet`, step by step so the resulting bytes match Redis's.
fn sparse_set(
    value: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, HllError> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(value, index, count);
    }
    // Step 1: find the opcode covering `index`, and the one before it.
    let end = value.len();
    let (mut at, mut first, mut prev) = (HDR, 0, None);
    let mut found = None;
    while at < end {
        let (len, span, register) = opcode(value, at);
        if index < first + span {
            found = Some((len, span, register));
            break;
        }
        prev = Some(at);
        at += len;
        first += span;
    }
    let Some((old_len, span, register)) = found else {
        return Err(HllError::Corrupt);
    };
    let is_val = register != 0;
    let is_zero = !is_val && old_len == 1;

    // Step 2: a VAL already high enough needs nothing; a single-register opcode becomes VAL.
    if is_val && register >= count {
        return Ok(false);
    }
    if span == 1 && (is_val || is_zero) {
        if let Some(byte) = value.get_mut(at) {
            *byte = val_opcode(count, 1);
        }
    } else {
        // Otherwise split the run around `index`: at most XZERO-VAL-XZERO, 5 bytes.
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val {
            if index != first {
                seq.push(val_opcode(register, index - first));
            }
            seq.push(val_opcode(count, 1));
            if index != last {
                seq.push(val_opcode(register, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_opcode(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        // Step 3: replace the opcode, unless growing would pass the sparse limit.
        if seq.len() > old_len && end + seq.len() - old_len > sparse_max {
            return promote(value, index, count);
        }
        // A cut-short XZERO counted its missing byte; Redis's length arithmetic drops it again.
        let new_len = end + seq.len() - old_len;
        if at + old_len > end {
            value.resize(at + old_len, 0);
        }
        value.splice(at..at + old_len, seq);
        value.truncate(new_len);
    }
    // Step 4: merge adjacent VAL opcodes with equal values, scanning at most 5 opcodes from `prev`.
    merge_adjacent(value, prev.unwrap_or(HDR));
    invalidate_cache(value);
    Ok(true)
}

fn merge_adjacent(value: &mut Vec<u8>, start: usize) {
    let mut at = start;
    let mut scan = 5;
    while at < value.len() && scan > 0 {
        scan -= 1;
        let (len, span, register) = opcode(value, at);
        if register == 0 {
            at += len;
            continue;
        }
        if let Some(&next) = value.get(at + 1)
            && next & 0x80 != 0
        {
            let (_, next_span, next_register) = opcode(value, at + 1);
            if next_register == register && span + next_span <= SPARSE_VAL_MAX_LEN {
                value[at + 1] = val_opcode(register, span + next_span);
                value.remove(at);
                // Stay here: the merged opcode may merge with the following one too.
                continue;
            }
        }
        at += 1;
    }
}

/// Converts to dense and sets the register there (the sparse form cannot hold it).
fn promote(value: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    to_dense(value)?;
    dense_raise(value, index, count);
    Ok(true)
}

/// Ertl's improved raw estimator, as Redis 7's `hllCount`, from the register values.
fn estimate(registers: &[u8; REGISTERS]) -> u64 {
    let mut histogram = [0u32; 64];
    for &register in registers {
        histogram[usize::from(register & REGISTER_MAX)] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let estimate = (ALPHA_INF * m * m / z).round();
    // Redis's llroundl and double-to-integer casts turn out-of-range results (all registers
    // saturated) into the x86 "integer indefinite" 1 << 63.
    if (0.0..9_223_372_036_854_775_808.0).contains(&estimate) {
        estimate as u64
    } else {
        1 << 63
    }
}

/// `hllSigma`: converges for x < 1; x == 1 means every register is zero.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        let gap = 1.0 - x;
        z -= gap * gap * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Expected values were observed on redis-server 7.0.15 with the same commands.
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    /// FNV-1a 64 of a value, to compare 12304-byte values with Redis's GET output compactly.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// PFADD of "e0".."e{n-1}" into a missing key, as the harness sent it (10000 per command).
    fn pfadd_sequence(n: usize) -> Vec<u8> {
        let mut value = new_hll();
        let elements: Vec<String> = (0..n).map(|index| format!("e{index}")).collect();
        for batch in elements.chunks(10_000) {
            let batch: Vec<&[u8]> = batch.iter().map(|element| element.as_bytes()).collect();
            add(&mut value, &batch).unwrap();
        }
        invalidate_cache(&mut value);
        value
    }

    fn dense_all(register: u8) -> Vec<u8> {
        let mut value = vec![0; DENSE_SIZE];
        value[..4].copy_from_slice(MAGIC);
        value[15] = 0x80;
        for index in 0..REGISTERS {
            dense_put(&mut value[HDR..], index, register);
        }
        value
    }

    #[test]
    fn empty_and_small_values_match_redis_bytes() {
        let mut value = new_hll();
        assert_eq!(value, hex("48594c4c0100000000000000000000007fff"));
        assert!(is_valid(&value));
        assert_eq!(count(&mut value), Ok(0));
        // PFADD x 1 2 3 (new key), then PFCOUNT x.
        let mut value = new_hll();
        assert_eq!(add(&mut value, &[b"1", b"2", b"3"]), Ok(true));
        assert_eq!(
            value,
            hex("48594c4c0100000000000000000000805d66804d7480512c8c43f3")
        );
        assert_eq!(add(&mut value, &[b"2"]), Ok(false));
        assert_eq!(count(&mut value), Ok(3));
        assert_eq!(
            value,
            hex("48594c4c0100000003000000000000005d66804d7480512c8c43f3")
        );
        // PFMERGE x h1: the target keeps its cache bytes, marked invalid.
        let h1 = pfadd_sequence(1);
        assert_eq!(h1, hex("48594c4c0100000000000000000000804525807ad8"));
        let merged = merge(Some(&value), &[&h1]).unwrap();
        assert_eq!(
            merged,
            hex("48594c4c010000000300000000000080452580583f804d7480512c8c43f3")
        );
        // Redis's sparse bytes, counted here.
        let mut theirs = hex("48594c4c0100000000000000000000805d66804d7480512c8c43f3");
        assert_eq!(count(&mut theirs), Ok(3));
    }

    #[test]
    fn pfadd_sequences_match_redis() {
        // (n, PFCOUNT, length, FNV of GET before PFCOUNT, FNV of GET after PFCOUNT)
        let expected = [
            (1, 1, 21, 0xfffb_6fae_ff77_f7cd, 0x546d_16fd_fd2c_805a),
            (100, 100, 285, 0xb8de_76da_b4a4_065e, 0x40de_c5e3_b151_3cfa),
            (
                10_000,
                9973,
                DENSE_SIZE,
                0x7378_cbab_5ab5_c44b,
                0x9114_1a08_52dc_0034,
            ),
            (
                200_000,
                200_859,
                DENSE_SIZE,
                0xcf0d_eb0d_1414_75c1,
                0x10f0_5285_9989_0a31,
            ),
        ];
        let mut values = Vec::new();
        for (n, card, len, before, after) in expected {
            let mut value = pfadd_sequence(n);
            assert_eq!((value.len(), fnv(&value)), (len, before), "n={n}");
            assert_eq!(count(&mut value), Ok(card), "n={n}");
            assert_eq!(fnv(&value), after, "n={n}");
            // The cache answers the next time.
            assert_eq!(count(&mut value), Ok(card));
            invalidate_cache(&mut value);
            values.push(value);
        }
        let [h1, h100, h10000, h200000] = &values[..] else {
            unreachable!()
        };
        assert_eq!(count_union(&[h100, h10000, h200000]), Ok(200_859));
        // PFMERGE m h100 h10000: dense because one input is.
        let merged = merge(None, &[h100, h10000]).unwrap();
        assert_eq!(
            (merged.len(), fnv(&merged)),
            (DENSE_SIZE, 0x7378_cbab_5ab5_c44b)
        );
        // PFMERGE ms h1 h100 nokey: all sparse, so the result stays sparse.
        let merged = merge(None, &[h1, h100]).unwrap();
        assert_eq!((merged.len(), fnv(&merged)), (285, 0xb8de_76da_b4a4_065e));
    }

    #[test]
    fn saturated_registers_match_redis() {
        // SET of dense values with every register equal, then PFCOUNT.
        let expected = [
            (1, 23_637),
            (30, 12_690_079_782_337),
            (40, 12_994_641_697_113_596),
            (45, 415_828_534_307_635_072),
            (50, 1 << 63),
            (51, 1 << 63),
            (63, 1 << 63),
        ];
        for (register, card) in expected {
            let mut value = dense_all(register);
            assert_eq!(count(&mut value), Ok(card), "register {register}");
            assert_eq!(count_union(&[&dense_all(register)]), Ok(card));
        }
        // Redis replies -9223372036854775808 for the overflowing estimate.
        assert_eq!(
            count(&mut dense_all(51)).map(|card| card as i64),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn bad_values_match_redis() {
        let not_hll = HllError::NotHll;
        for bad in [
            &b"foo"[..],
            b"HYLL",
            b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        ] {
            assert!(!is_valid(bad));
            assert_eq!(count(&mut bad.to_vec()), Err(not_hll));
            assert_eq!(add(&mut bad.to_vec(), &[b"a"]), Err(not_hll));
            assert_eq!(count_union(&[bad]), Err(not_hll));
            assert_eq!(merge(Some(bad), &[]), Err(not_hll));
        }
        assert_eq!(
            HllError::NotHll.message(),
            "WRONGTYPE Key is not a valid HyperLogLog string value."
        );
        // One VAL opcode past the 16384 registers: PFCOUNT fails, PFADD still updates in place.
        let past = hex("48594c4c0100000000000000000000807fff803f");
        assert_eq!(count(&mut past.clone()), Err(HllError::Corrupt));
        let mut added = past.clone();
        assert_eq!(add(&mut added, &[b"a"]), Ok(true));
        assert_eq!(added, hex("48594c4c01000000000000000000008071a6844e57803f"));
        // One register short.
        let short = hex("48594c4c0100000000000000000000807ffe");
        assert_eq!(count(&mut short.clone()), Err(HllError::Corrupt));
        assert_eq!(add(&mut short.clone(), &[b"a"]), Ok(true));
        assert_eq!(merge(None, &[&short]), Err(HllError::Corrupt));
        assert_eq!(count_union(&[&short, &new_hll()]), Err(HllError::Corrupt));
        assert_eq!(
            HllError::Corrupt.message(),
            "INVALIDOBJ Corrupted HLL object detected"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let sparse_header = &hex("48594c4c010000000000000000000080")[..];
        for round in 0..2000 {
            let len = (next() % 64) as usize;
            let mut value = match round % 4 {
                0 => sparse_header.to_vec(),
                1 => dense_all((next() % 64) as u8),
                2 => new_hll(),
                _ => Vec::new(),
            };
            if round % 4 == 1 {
                value.truncate(value.len() - (next() % 2) as usize);
            } else {
                value.extend((0..len).map(|_| next() as u8));
            }
            // Long runs of big opcodes push the register count far past 16384.
            if round % 7 == 0 {
                value.extend(std::iter::repeat_n(0x7f, 3000));
            }
            let element = next().to_le_bytes();
            let _ = count(&mut value.clone());
            let _ = count_union(&[&value, &new_hll()]);
            let _ = merge(Some(&value), &[&new_hll()]);
            let _ = merge(None, &[&value]);
            let mut added = value.clone();
            if add(&mut added, &[&element, b"x", b"yy"]).is_ok() {
                let _ = count(&mut added);
            }
        }
    }

    #[test]
    fn sparse_promotes_at_the_limit() {
        let mut value = new_hll();
        let mut promoted_at = None;
        for index in 0..5000 {
            add(&mut value, &[format!("p{index}").as_bytes()]).unwrap();
            if value[4] == ENCODING_DENSE {
                promoted_at = Some(index);
                break;
            }
            assert!(value.len() <= SPARSE_MAX_BYTES);
        }
        assert!(promoted_at.is_some());
        assert_eq!(value.len(), DENSE_SIZE);
        // A register above 32 promotes at once (no element short of ~2^32 tries gets there).
        let mut value = new_hll();
        assert_eq!(set_register(&mut value, 5, 33, SPARSE_MAX_BYTES), Ok(true));
        assert_eq!(dense_get(&value[HDR..], 5), 33);
        assert_eq!(value.len(), DENSE_SIZE);
    }
}
