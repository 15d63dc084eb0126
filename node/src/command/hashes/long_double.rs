//! HINCRBYFLOAT's arithmetic, as Redis does it on x86-64: the C `long double` (the x87 80-bit
//! extended format, a 64-bit mantissa), parsed by `strtold` (correctly rounded), added once, and
//! printed with `"%.17Lf"` with the trailing zeros cut (Redis's `ld2string(LD_STR_HUMAN)`). So
//! `0.1 + 0.2` gives `0.3` and `1e308` prints the 309 digits of its extended-precision value, as
//! Redis replies. Done in software with a small big-number type: correct rounding needs exact
//! arithmetic, and `f64` has 11 bits less.

use std::cmp::Ordering;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer texts are not floats.
const MAX_CHARS: usize = 5 * 1024;
/// Mantissa bits.
const PRECISION: i64 = 64;
/// Exponent of the lowest mantissa bit of a subnormal (2^-16445 is the smallest value).
const MIN_LSB_EXPONENT: i64 = -16445;
/// Values of 2^16384 and above overflow.
const MAX_MSB_EXPONENT: i64 = 16383;

/// A finite extended-precision value: (-1)^negative × mantissa × 2^exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    mantissa: u64,
    exponent: i64,
}

/// What `strtold` made of a text that Redis accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    Finite(LongDouble),
    /// `inf`, `infinity`, with a sign.
    Infinite,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    /// Redis's `string2ld`: the whole text (before any NUL byte, as C sees it) must be a number,
    /// without leading space, not NaN, not out of range (overflow, or underflow to zero).
    pub fn parse(text: &[u8]) -> Option<Parsed> {
        if text.is_empty() || text.len() >= MAX_CHARS {
            return None;
        }
        let text = match text.iter().position(|&byte| byte == 0) {
            Some(end) => &text[..end],
            None => text,
        };
        if text.first().is_some_and(|&byte| is_c_space(byte)) {
            return None;
        }
        let (negative, body) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Parsed::Infinite);
        }
        let value = if lower.starts_with(b"0x") {
            parse_hex(&body[2..])?
        } else {
            parse_decimal(body)?
        };
        Some(Parsed::Finite(LongDouble { negative, ..value }))
    }

    /// The correctly rounded sum; `None` when it overflows.
    pub fn add(self, other: LongDouble) -> Option<LongDouble> {
        if self.mantissa == 0 && other.mantissa == 0 {
            // IEEE: -0 + -0 is -0, any other zero sum is +0.
            return Some(LongDouble {
                negative: self.negative && other.negative,
                ..LongDouble::ZERO
            });
        }
        if self.mantissa == 0 {
            return Some(other);
        }
        if other.mantissa == 0 {
            return Some(self);
        }
        let base = self.exponent.min(other.exponent);
        let a = BigUint::from_u64(self.mantissa).shl((self.exponent - base) as usize);
        let b = BigUint::from_u64(other.mantissa).shl((other.exponent - base) as usize);
        let (negative, magnitude) = if self.negative == other.negative {
            (self.negative, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => (self.negative, a.sub(&b)),
                Ordering::Less => (other.negative, b.sub(&a)),
            }
        };
        match round(magnitude, base, false) {
            Rounded::Value(value) => Some(LongDouble { negative, ..value }),
            Rounded::Zero => Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            }),
            Rounded::Overflow => None,
        }
    }

    /// Redis's `ld2string(LD_STR_HUMAN)`: `"%.17Lf"`, then trailing zeros (and a trailing point)
    /// removed, and `-0` written `0`.
    pub fn to_human(self) -> String {
        const DIGITS: usize = 17;
        // The value times 10^17, rounded half to even, as glibc's printf does.
        let scaled = BigUint::from_u64(self.mantissa).mul_small(100_000_000_000_000_000);
        let digits = if self.exponent >= 0 {
            scaled.shl(self.exponent as usize).to_decimal()
        } else {
            let shift = (-self.exponent) as usize;
            let (quotient, half, rest) = scaled.shr_with_remainder(shift);
            let round_up = half && (rest || quotient.is_odd());
            let quotient = if round_up {
                quotient.add(&BigUint::from_u64(1))
            } else {
                quotient
            };
            quotient.to_decimal()
        };
        let digits = format!("{digits:0>width$}", width = DIGITS + 1);
        let (integer, fraction) = digits.split_at(digits.len() - DIGITS);
        let fraction = fraction.trim_end_matches('0');
        let mut text = String::with_capacity(digits.len() + 2);
        if self.negative {
            text.push('-');
        }
        text.push_str(integer);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// An exponent after `e` or `p`: a sign and at least one digit, to the end of the text.
/// Saturates far beyond any exponent that matters.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |value, &digit| {
        (value * 10 + i64::from(digit - b'0')).min(1_000_000_000)
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Splits `digits[.digits]` (at least one digit) from what follows; the digits without the point
/// and how many came after it.
fn split_mantissa(text: &[u8], is_digit: impl Fn(u8) -> bool) -> Option<(Vec<u8>, i64, &[u8])> {
    let mut digits = Vec::new();
    let mut fraction_digits = 0i64;
    let mut seen_point = false;
    let mut end = text.len();
    for (index, &byte) in text.iter().enumerate() {
        if is_digit(byte) {
            digits.push(byte);
            if seen_point {
                fraction_digits += 1;
            }
        } else if byte == b'.' && !seen_point {
            seen_point = true;
        } else {
            end = index;
            break;
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some((digits, fraction_digits, &text[end..]))
}

fn parse_decimal(text: &[u8]) -> Option<LongDouble> {
    let (digits, fraction_digits, rest) = split_mantissa(text, |byte| byte.is_ascii_digit())?;
    let exponent = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', exponent)) => parse_exponent(exponent)?,
        Some(_) => return None,
    };
    let mut exponent = exponent - fraction_digits;
    // Leading zeros are worthless; trailing ones move into the exponent.
    let first = digits.iter().position(|&digit| digit != b'0');
    let Some(first) = first else {
        return Some(LongDouble::ZERO);
    };
    let last = digits
        .iter()
        .rposition(|&digit| digit != b'0')
        .unwrap_or(first);
    exponent += (digits.len() - 1 - last) as i64;
    let digits = &digits[first..=last];
    let magnitude = digits.len() as i64 + exponent;
    // 10^4933 > 2^16384 overflows; below 10^-4952 < 2^-16446 everything rounds to zero.
    if magnitude > 4934 {
        return None;
    }
    if magnitude < -4952 {
        return None;
    }
    let mut number = BigUint::default();
    for chunk in digits.chunks(19) {
        let mut value = 0u64;
        for &digit in chunk {
            value = value * 10 + u64::from(digit - b'0');
        }
        number = number
            .mul_small(10u64.pow(chunk.len() as u32))
            .add(&BigUint::from_u64(value));
    }
    let rounded = if exponent >= 0 {
        round(number.mul_pow10(exponent as usize), 0, false)
    } else {
        let divisor = BigUint::from_u64(1).mul_pow10((-exponent) as usize);
        // Enough quotient bits for the mantissa, a rounding bit and some to spare.
        let extra = (divisor.bit_len() as i64 - number.bit_len() as i64 + PRECISION + 3).max(0);
        let (quotient, remainder_nonzero) = number.shl(extra as usize).div_rem(&divisor);
        round(quotient, -extra, remainder_nonzero)
    };
    match rounded {
        Rounded::Value(value) => Some(value),
        // strtold's ERANGE with 0 or HUGE_VAL: Redis refuses both.
        Rounded::Zero | Rounded::Overflow => None,
    }
}

fn parse_hex(text: &[u8]) -> Option<LongDouble> {
    let (digits, fraction_digits, rest) = split_mantissa(text, |byte| byte.is_ascii_hexdigit())?;
    let exponent = match rest.split_first() {
        None => 0,
        Some((b'p' | b'P', exponent)) => parse_exponent(exponent)?,
        Some(_) => return None,
    };
    let Some(first) = digits.iter().position(|&digit| digit != b'0') else {
        return Some(LongDouble::ZERO);
    };
    let digits = &digits[first..];
    let exponent = exponent - 4 * fraction_digits;
    let magnitude = 4 * digits.len() as i64 + exponent;
    if !(MIN_LSB_EXPONENT - 2..=MAX_MSB_EXPONENT + 2).contains(&magnitude) {
        return None;
    }
    let mut number = BigUint::default();
    for &digit in digits {
        let value = (digit as char).to_digit(16).unwrap_or(0);
        number = number
            .mul_small(16)
            .add(&BigUint::from_u64(u64::from(value)));
    }
    match round(number, exponent, false) {
        Rounded::Value(value) => Some(value),
        Rounded::Zero | Rounded::Overflow => None,
    }
}

enum Rounded {
    Value(LongDouble),
    /// A non-zero value below half the smallest subnormal.
    Zero,
    Overflow,
}

/// Rounds `number × 2^shift` (plus a little more when `sticky`) to the nearest extended value,
/// ties to even, with subnormals. The sign is the caller's.
fn round(number: BigUint, shift: i64, sticky: bool) -> Rounded {
    let length = number.bit_len() as i64;
    if length == 0 {
        return Rounded::Zero;
    }
    let msb = length - 1 + shift;
    let lsb = (msb - (PRECISION - 1)).max(MIN_LSB_EXPONENT);
    let drop = lsb - shift;
    let mut exponent = lsb;
    let mantissa = if drop <= 0 {
        u128::from(number.shl((-drop) as usize).to_u64())
    } else {
        let (kept, half, rest) = number.shr_with_remainder(drop as usize);
        let kept = u128::from(kept.to_u64());
        if half && (rest || sticky || kept & 1 == 1) {
            kept + 1
        } else {
            kept
        }
    };
    let mantissa = if mantissa == 1 << 64 {
        // Rounded up into the next binade.
        exponent += 1;
        1u64 << 63
    } else {
        mantissa as u64
    };
    if mantissa == 0 {
        return Rounded::Zero;
    }
    if 63 - i64::from(mantissa.leading_zeros()) + exponent > MAX_MSB_EXPONENT {
        return Rounded::Overflow;
    }
    Rounded::Value(LongDouble {
        negative: false,
        mantissa,
        exponent,
    })
}

/// An unsigned big integer, little-endian 64-bit limbs, no trailing zero limbs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct BigUint(Vec<u64>);

impl BigUint {
    fn from_u64(value: u64) -> BigUint {
        let mut number = BigUint(vec![value]);
        number.trim();
        number
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bit_len(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 64 - top.leading_zeros() as usize,
        }
    }

    fn bit(&self, index: usize) -> bool {
        self.0
            .get(index / 64)
            .is_some_and(|limb| limb >> (index % 64) & 1 == 1)
    }

    fn is_odd(&self) -> bool {
        self.bit(0)
    }

    /// The low 64 bits.
    fn to_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    fn mul_small(mut self, factor: u64) -> BigUint {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let product = u128::from(*limb) * u128::from(factor) + carry;
            *limb = product as u64;
            carry = product >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
        self.trim();
        self
    }

    fn mul_pow10(mut self, mut power: usize) -> BigUint {
        while power >= 19 {
            self = self.mul_small(10u64.pow(19));
            power -= 19;
        }
        self.mul_small(10u64.pow(power as u32))
    }

    fn add(&self, other: &BigUint) -> BigUint {
        let length = self.0.len().max(other.0.len());
        let mut sum = Vec::with_capacity(length + 1);
        let mut carry = false;
        for index in 0..length {
            let a = self.0.get(index).copied().unwrap_or(0);
            let b = other.0.get(index).copied().unwrap_or(0);
            let (partial, first) = a.overflowing_add(b);
            let (total, second) = partial.overflowing_add(u64::from(carry));
            sum.push(total);
            carry = first || second;
        }
        if carry {
            sum.push(1);
        }
        let mut number = BigUint(sum);
        number.trim();
        number
    }

    /// `self - other`, with `self >= other`.
    fn sub(&self, other: &BigUint) -> BigUint {
        let mut difference = Vec::with_capacity(self.0.len());
        let mut borrow = false;
        for (index, &a) in self.0.iter().enumerate() {
            let b = other.0.get(index).copied().unwrap_or(0);
            let (partial, first) = a.overflowing_sub(b);
            let (total, second) = partial.overflowing_sub(u64::from(borrow));
            difference.push(total);
            borrow = first || second;
        }
        let mut number = BigUint(difference);
        number.trim();
        number
    }

    fn shl(&self, bits: usize) -> BigUint {
        if self.0.is_empty() {
            return BigUint::default();
        }
        let (limbs, bits) = (bits / 64, bits % 64);
        let mut shifted = vec![0u64; limbs];
        shifted.reserve(self.0.len() + 1);
        let mut carry = 0u64;
        for &limb in &self.0 {
            if bits == 0 {
                shifted.push(limb);
            } else {
                shifted.push(limb << bits | carry);
                carry = limb >> (64 - bits);
            }
        }
        if carry != 0 {
            shifted.push(carry);
        }
        let mut number = BigUint(shifted);
        number.trim();
        number
    }

    /// `self >> bits`, whether the highest dropped bit was set, and whether any lower dropped
    /// bit was (`bits` > 0).
    fn shr_with_remainder(&self, bits: usize) -> (BigUint, bool, bool) {
        let half = self.bit(bits - 1);
        let below = bits - 1;
        let full_limbs = below / 64;
        let rest = self.0.iter().take(full_limbs).any(|&limb| limb != 0)
            || self.0.get(full_limbs).is_some_and(|&limb| {
                !below.is_multiple_of(64) && limb & ((1u64 << (below % 64)) - 1) != 0
            });
        let (limbs, shift) = (bits / 64, bits % 64);
        let mut shifted = Vec::with_capacity(self.0.len().saturating_sub(limbs));
        for index in limbs..self.0.len() {
            let low = self.0[index] >> shift;
            let high = if shift == 0 {
                0
            } else {
                self.0
                    .get(index + 1)
                    .map_or(0, |&next| next << (64 - shift))
            };
            shifted.push(low | high);
        }
        let mut number = BigUint(shifted);
        number.trim();
        (number, half, rest)
    }

    /// The quotient, and whether a remainder was left. Binary long division: the quotients here
    /// have about 70 bits, so that is about 70 subtractions.
    fn div_rem(&self, divisor: &BigUint) -> (BigUint, bool) {
        let mut remainder = self.clone();
        let mut quotient = BigUint::default();
        let span = self.bit_len() as i64 - divisor.bit_len() as i64;
        let mut position = span;
        while position >= 0 {
            let shifted = divisor.shl(position as usize);
            if remainder.cmp(&shifted) != Ordering::Less {
                remainder = remainder.sub(&shifted);
                quotient = quotient.add(&BigUint::from_u64(1).shl(position as usize));
            }
            position -= 1;
        }
        (quotient, !remainder.0.is_empty())
    }

    fn cmp(&self, other: &BigUint) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| {
            for (a, b) in self.0.iter().rev().zip(other.0.iter().rev()) {
                match a.cmp(b) {
                    Ordering::Equal => continue,
                    unequal => return unequal,
                }
            }
            Ordering::Equal
        })
    }

    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut remainder = 0u128;
            for limb in limbs.iter_mut().rev() {
                let current = remainder << 64 | u128::from(*limb);
                *limb = (current / u128::from(CHUNK)) as u64;
                remainder = current % u128::from(CHUNK);
            }
            chunks.push(remainder as u64);
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
        }
        let mut text = match chunks.pop() {
            Some(top) => top.to_string(),
            None => return "0".to_owned(),
        };
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:019}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finite(text: &str) -> LongDouble {
        match LongDouble::parse(text.as_bytes()) {
            Some(Parsed::Finite(value)) => value,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn sum(a: &str, b: &str) -> String {
        finite(a).add(finite(b)).unwrap().to_human()
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Replies of Redis 7.0.15 on x86-64.
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(sum("0", "1.5e-5"), "0.000015");
        assert_eq!(sum("10.5", "-10.5"), "0");
        assert_eq!(sum("0", "-0.0"), "0");
        assert_eq!(sum("0", "0x10"), "16");
        assert_eq!(sum("0", "3.0e3"), "3000");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("5", "-7"), "-2");
        assert_eq!(sum("1", "-1e-30"), "1");
        assert_eq!(sum("0", "-1e-30"), "0");
        assert_eq!(
            sum("0", "1e308"),
            "99999999999999999996685879655845645660560099847415567207797047994921734868838\
             061872100126921888539320446747225054013223152134749593960583597420814430196418\
             767959100019603190778663109604507106667939153395788938914560543563061268364901\
             618630217086589253444881623791300855757318142424510452728255046343928578048"
        );
        let big = sum("1e4930", "1e4930");
        assert_eq!(big.len(), 4931);
        assert!(big.starts_with("20000000000000000000523475697740758611441639015102450026927"));
        assert!(big.ends_with("950071808"));
    }

    #[test]
    fn parsing_follows_strtold_and_string2ld() {
        for bad in [
            "",
            " 1",
            "1 ",
            "abc",
            "nan",
            "NaN",
            "1e",
            "1e+",
            "0x",
            ".",
            "-",
            "1.2.3",
            "1e5000",
            "-1e5000",
            "1e-5000",
            "0x1p99999",
            "infin",
            "1_0",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        for infinite in ["inf", "-INF", "Infinity", "+infinity"] {
            assert_eq!(
                LongDouble::parse(infinite.as_bytes()),
                Some(Parsed::Infinite)
            );
        }
        assert_eq!(finite("+.5").to_human(), "0.5");
        assert_eq!(finite("5.").to_human(), "5");
        assert_eq!(finite("0e-99999").to_human(), "0");
        assert_eq!(finite("0x1.8p1").to_human(), "3");
        assert_eq!(finite("1\0garbage").to_human(), "1");
        // Subnormal values are accepted (strtold's ERANGE with a non-zero result).
        assert!(LongDouble::parse(b"1e-4940").is_some());
        assert!(LongDouble::parse(&vec![b'1'; MAX_CHARS]).is_none());
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // 2^64 + 1 is not representable: ties to the even 2^64.
        let two_64 = finite("18446744073709551616");
        assert_eq!(
            two_64.add(finite("1")).unwrap().to_human(),
            "18446744073709551616"
        );
        assert_eq!(
            two_64.add(finite("3")).unwrap().to_human(),
            "18446744073709551620"
        );
        // 2^-18 has 18 decimals: the 18th is a tie, printed half to even.
        assert_eq!(finite("0x1p-18").to_human(), "0.00000381469726562");
        assert_eq!(finite("0x3p-18").to_human(), "0.00001144409179688");
        // Overflow of a sum.
        let max = finite("1.1e4932");
        assert_eq!(max.add(max), None);
    }

    #[test]
    fn big_numbers_round_trip_through_decimal() {
        let number = BigUint::from_u64(u64::MAX).mul_pow10(40);
        assert_eq!(
            number.to_decimal(),
            "184467440737095516150000000000000000000000000000000000000000"
        );
        let (quotient, rest) = number.div_rem(&BigUint::from_u64(1).mul_pow10(40));
        assert_eq!(quotient.to_u64(), u64::MAX);
        assert!(!rest);
    }
}
