//! Score and range-bound text exactly as Redis 7.0 reads and writes it.
//!
//! Redis reads scores with C `strtod` (glibc, C locale), so it takes leading/trailing forms that
//! Rust's `f64::from_str` does not (hex floats `0x1p3`, `infinity`, `5.`), and its two readers differ:
//! `ZADD`/`ZINCRBY` (`string2d`) reject leading spaces, trailing bytes, overflow (`1e999`) and
//! underflow to zero (`1e-400`); range bounds (`zslParseRange`) take any `strtod` prefix that ends the
//! C string, so `" 1"`, `""` (= 0) and `1e999` (= inf) are valid bounds. Both are mirrored here.

use super::{LexBound, ScoreBound};
use crate::protocol::writer::format_g17;

/// A score as Redis 7.0 replies it (`addReplyDouble`): C's `%.17g`, infinities as `inf`/`-inf`.
/// For example 1 → `1`, 0.1 → `0.10000000000000001`, 3e20 → `3e+20`, 1e-7 → `9.9999999999999995e-08`.
/// (The formatter lives with the reply encoder, which writes RESP3 doubles the same way.)
pub fn format_score(score: f64) -> String {
    String::from_utf8_lossy(format_g17(score).as_bytes()).into_owned()
}

/// [`format_score`] appended to a byte buffer, without allocating (for reply encoders).
pub fn append_score(out: &mut Vec<u8>, score: f64) {
    out.extend_from_slice(format_g17(score).as_bytes());
}

/// A score argument as `ZADD`/`ZINCRBY` accept it (Redis's `string2d`): the whole text must be one
/// `strtod` number with no leading space; NaN, overflow to ±inf and underflow to 0 are rejected,
/// while `inf`, `-inf`, `+inf`, `infinity` and hex floats are accepted. `-0` parses as -0.0 (the set
/// stores it as 0, see [`super::SortedSet::insert`]).
pub fn parse_score(text: &[u8]) -> Option<f64> {
    if text.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let parsed = strtod(text);
    (parsed.end == text.len() && !parsed.out_of_range && !parsed.value.is_nan())
        .then_some(parsed.value)
}

/// A score range bound as `ZRANGEBYSCORE`/`ZCOUNT`/`ZREMRANGEBYSCORE` accept it (Redis's
/// `zslParseRange`): an optional `(` for exclusive, then a `strtod` prefix that must reach the end
/// of the C string (the text's end or a NUL byte). So `-inf`, `+inf`, `(1.5`, `" 1"` (leading space),
/// `""` and `"("` (zero), `1e999` (inf) are valid; NaN and trailing bytes are not (`None` → the caller
/// answers `ERR min or max is not a float`).
pub fn parse_score_bound(text: &[u8]) -> Option<ScoreBound> {
    let (exclusive, body) = match text.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, text),
    };
    let parsed = strtod(body);
    let ends_c_string = matches!(body.get(parsed.end), None | Some(0));
    if !ends_c_string || parsed.value.is_nan() {
        return None;
    }
    Some(if exclusive {
        ScoreBound::Exclusive(parsed.value)
    } else {
        ScoreBound::Inclusive(parsed.value)
    })
}

/// A lex range bound as `ZRANGEBYLEX`/`ZLEXCOUNT`/`ZREMRANGEBYLEX` accept it (Redis's
/// `zslParseLexRangeItem`): `-`, `+`, `[member` (inclusive) or `(member` (exclusive). Anything else,
/// including the empty string, is `None` → the caller answers
/// `ERR min or max not valid string range item`. As in Redis (C strings), `-`/`+` may be followed by
/// a NUL byte and whatever comes after it.
pub fn parse_lex_bound(text: &[u8]) -> Option<LexBound> {
    let (&first, rest) = text.split_first()?;
    let alone = matches!(rest.first(), None | Some(0));
    match first {
        b'-' if alone => Some(LexBound::Min),
        b'+' if alone => Some(LexBound::Max),
        b'[' => Some(LexBound::Inclusive(rest.to_vec())),
        b'(' => Some(LexBound::Exclusive(rest.to_vec())),
        _ => None,
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What glibc `strtod` makes of a text.
struct Strtod {
    value: f64,
    /// Bytes consumed; 0 when nothing converted (strtod then points back at the start).
    end: usize,
    /// ERANGE with a result of ±inf or 0: the digits overflowed or underflowed to zero.
    out_of_range: bool,
}

fn strtod(text: &[u8]) -> Strtod {
    let nothing = Strtod {
        value: 0.0,
        end: 0,
        out_of_range: false,
    };
    let mut at = text.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = match text.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let signed = |value: f64| if negative { -value } else { value };
    let rest = text.get(at..).unwrap_or(&[]);
    if starts_with_ignore_case(rest, b"inf") {
        let len = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        return Strtod {
            value: signed(f64::INFINITY),
            end: at + len,
            out_of_range: false,
        };
    }
    if starts_with_ignore_case(rest, b"nan") {
        // "nan(chars)" is consumed whole when the parenthesis closes.
        let mut len = 3;
        if rest.get(3) == Some(&b'(') {
            let inner = rest[4..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_');
            let close = 4 + inner.count();
            if rest.get(close) == Some(&b')') {
                len = close + 1;
            }
        }
        return Strtod {
            value: f64::NAN,
            end: at + len,
            out_of_range: false,
        };
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        return match hex_float(&rest[2..]) {
            Some((value, len, out_of_range)) => Strtod {
                value: signed(value),
                end: at + 2 + len,
                out_of_range,
            },
            // "0x" without a hex digit after it: only the "0" converts.
            None => Strtod {
                value: signed(0.0),
                end: at + 1,
                out_of_range: false,
            },
        };
    }
    let digits_from = |from: usize| {
        text.iter()
            .skip(from)
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let start = at;
    let int_digits = digits_from(at);
    let nonzero = |range: &[u8]| range.iter().any(|&b| (b'1'..=b'9').contains(&b));
    let mut has_nonzero = nonzero(&text[at..at + int_digits]);
    at += int_digits;
    let mut digits = int_digits;
    if text.get(at) == Some(&b'.') {
        let frac_digits = digits_from(at + 1);
        has_nonzero |= nonzero(&text[at + 1..at + 1 + frac_digits]);
        digits += frac_digits;
        at += 1 + frac_digits;
    }
    if digits == 0 {
        return nothing;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        let mut exp_at = at + 1;
        if matches!(text.get(exp_at), Some(b'+' | b'-')) {
            exp_at += 1;
        }
        let exp_digits = digits_from(exp_at);
        if exp_digits > 0 {
            at = exp_at + exp_digits;
        }
    }
    // The accepted syntax is a subset of Rust's, whose conversion is correctly rounded like glibc's.
    let parsed = std::str::from_utf8(&text[start..at])
        .ok()
        .and_then(|t| t.parse::<f64>().ok());
    let Some(value) = parsed else { return nothing };
    Strtod {
        value: signed(value),
        end: at,
        out_of_range: value.is_infinite() || (value == 0.0 && has_nonzero),
    }
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The part of a C99 hex float after `0x`: hex digits with an optional point, then an optional
/// binary exponent `p[+-]digits`. Returns the value (correctly rounded, ties to even), the bytes
/// consumed and whether it overflowed or underflowed to zero; `None` without any hex digit.
fn hex_float(text: &[u8]) -> Option<(f64, usize, bool)> {
    let mut mantissa: u64 = 0;
    let mut exp2: i64 = 0;
    // Nonzero digits that no longer fit the 64-bit mantissa, kept only for rounding.
    let mut sticky = false;
    let (mut at, mut any_digit, mut seen_point) = (0, false, false);
    loop {
        match text.get(at) {
            Some(&c) if c.is_ascii_hexdigit() => {
                let digit = u64::from((c as char).to_digit(16).unwrap_or(0));
                any_digit = true;
                if mantissa >> 60 == 0 {
                    mantissa = (mantissa << 4) | digit;
                    if seen_point {
                        exp2 -= 4;
                    }
                } else {
                    sticky |= digit != 0;
                    if !seen_point {
                        exp2 += 4;
                    }
                }
            }
            Some(b'.') if !seen_point => seen_point = true,
            _ => break,
        }
        at += 1;
    }
    if !any_digit {
        return None;
    }
    if matches!(text.get(at), Some(b'p' | b'P')) {
        let mut exp_at = at + 1;
        let negative = match text.get(exp_at) {
            Some(b'-') => {
                exp_at += 1;
                true
            }
            Some(b'+') => {
                exp_at += 1;
                false
            }
            _ => false,
        };
        let exp_digits = text
            .iter()
            .skip(exp_at)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            // Saturate: beyond ±100000 every value has already overflowed or vanished.
            let mut exp: i64 = 0;
            for &b in &text[exp_at..exp_at + exp_digits] {
                exp = (exp * 10 + i64::from(b - b'0')).min(100_000);
            }
            exp2 += if negative { -exp } else { exp };
            at = exp_at + exp_digits;
        }
    }
    let (value, out_of_range) = compose_binary(mantissa, exp2, sticky);
    Some((value, at, out_of_range))
}

/// `mantissa × 2^exp2` (plus a sticky fraction below the mantissa's last bit) rounded to the
/// nearest f64, ties to even, as glibc does; also whether it overflowed or underflowed to zero.
fn compose_binary(mantissa: u64, exp2: i64, sticky: bool) -> (f64, bool) {
    if mantissa == 0 {
        return (0.0, false);
    }
    let bits = 64 - i64::from(mantissa.leading_zeros());
    let top = exp2 + bits - 1; // the value is in [2^top, 2^(top+1))
    if top > 1023 {
        return (f64::INFINITY, true);
    }
    // Exponent of the result's last mantissa bit: 52 below the top bit, but never below the
    // smallest subnormal's.
    let unit = (top - 52).max(-1074);
    let drop = unit - exp2;
    let mut rounded: u64 = if drop <= 0 {
        mantissa << (-drop) as u32
    } else if drop >= 100 {
        0
    } else {
        let wide = u128::from(mantissa);
        let kept = wide >> drop;
        let rest = wide & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        (kept + u128::from(up)) as u64
    };
    let mut unit = unit;
    if rounded == 1 << 53 {
        rounded = 1 << 52;
        unit += 1;
    }
    if unit + 52 > 1023 {
        return (f64::INFINITY, true);
    }
    if rounded == 0 {
        return (0.0, true);
    }
    let bits = if rounded < 1 << 52 {
        rounded // subnormal: the exponent field is 0 and unit is -1074
    } else {
        (((unit + 52 + 1023) as u64) << 52) | (rounded - (1 << 52))
    };
    (f64::from_bits(bits), false)
}
