//! The model of one key: a Redis string that is absent, bytes, or an integer (a counter).
//!
//! Values are interned so that the search's state is small, `Copy` and hashable. A value that is the
//! canonical decimal form of an `i64` (what [`parse_integer`] accepts) is the integer itself, whether
//! it was written by `SET` or produced by `INCRBY`; every other value is an interned byte string. So
//! `SET k "10"` then `INCR k` gives 11, and a `GET` after `INCR` that returned `"5"` matches `Int(5)`.

use std::collections::HashMap;

use crate::history::Operation;

/// A key's value in the search: absent, interned bytes (never a canonical integer), or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Value {
    Absent,
    Bytes(u32),
    Int(i64),
}

/// What one operation does to a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Step {
    /// Allowed only if the value is this one; leaves it unchanged.
    Read(Value),
    /// Always allowed; sets the value.
    Write(Value),
    /// Allowed on an absent key (counted from 0) or an integer, if the sum does not overflow and
    /// equals `result` when that is known; sets the value to the sum.
    Increment { by: i64, result: Option<i64> },
}

impl Step {
    /// The value after this step is applied to `value`, or `None` if it cannot happen there.
    pub(crate) fn apply(self, value: Value) -> Option<Value> {
        match self {
            Step::Read(expected) => (expected == value).then_some(value),
            Step::Write(written) => Some(written),
            Step::Increment { by, result } => {
                let current = match value {
                    Value::Absent => 0,
                    Value::Int(current) => current,
                    // Redis answers "value is not an integer": no effect, and no result.
                    Value::Bytes(_) => return None,
                };
                // Redis answers "increment or decrement would overflow": no effect either.
                let sum = current.checked_add(by)?;
                match result {
                    Some(result) if result != sum => None,
                    _ => Some(Value::Int(sum)),
                }
            }
        }
    }
}

/// The integer `bytes` spell in canonical decimal form, as Redis's `INCR` accepts it and `GET` prints
/// it back: an optional `-` and digits without leading zeros, within `i64` (`"0"`, `"-12"`; not `"007"`,
/// `"-0"`, `"+1"`, `" 1"`).
pub fn parse_integer(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let value: i64 = text.parse().ok()?;
    // The round trip rejects every non-canonical spelling that `parse` accepts ("+1", "007", "-0").
    (value.to_string() == text).then_some(value)
}

/// Interns a key's values: equal bytes get equal ids, canonical integers become [`Value::Int`].
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<Vec<u8>, u32>,
}

impl Interner {
    pub(crate) fn value(&mut self, value: Option<&[u8]>) -> Value {
        let Some(bytes) = value else {
            return Value::Absent;
        };
        if let Some(integer) = parse_integer(bytes) {
            return Value::Int(integer);
        }
        let next_id = self.ids.len() as u32;
        Value::Bytes(*self.ids.entry(bytes.to_vec()).or_insert(next_id))
    }

    pub(crate) fn step(&mut self, operation: &Operation) -> Step {
        match operation {
            Operation::Read(value) => Step::Read(self.value(value.as_deref())),
            Operation::Write(value) => Step::Write(self.value(value.as_deref())),
            &Operation::Increment { by, result } => Step::Increment { by, result },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_decimals_are_integers() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"-12"), Some(-12));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        for not in [
            &b"007"[..],
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"1e3",
            b"9223372036854775808",
            b"\xff",
        ] {
            assert_eq!(parse_integer(not), None, "{}", not.escape_ascii());
        }
    }

    #[test]
    fn increments_count_from_absent_and_integers_only() {
        let mut interner = Interner::default();
        let text = interner.value(Some(b"x"));
        let ten = interner.value(Some(b"10"));
        assert_eq!(ten, Value::Int(10));
        let incr = Step::Increment {
            by: 1,
            result: None,
        };
        assert_eq!(incr.apply(Value::Absent), Some(Value::Int(1)));
        assert_eq!(incr.apply(ten), Some(Value::Int(11)));
        assert_eq!(incr.apply(text), None);
        assert_eq!(incr.apply(Value::Int(i64::MAX)), None);
        let acknowledged = Step::Increment {
            by: 1,
            result: Some(11),
        };
        assert_eq!(acknowledged.apply(ten), Some(Value::Int(11)));
        assert_eq!(acknowledged.apply(Value::Absent), None);
        // Equal bytes intern to the same id; a non-canonical number stays bytes.
        assert_eq!(interner.value(Some(b"x")), text);
        assert!(matches!(interner.value(Some(b"010")), Value::Bytes(_)));
    }
}
