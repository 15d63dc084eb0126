//! A brute-force linearizability checker for tiny histories, to cross-check the real one.
//!
//! It shares nothing with the search but [`Record`]: it tries every order of the whole history (all
//! keys at once, no decomposition by key) that respects real time, skipping any subset of the
//! operations of unknown outcome, against a map of byte strings with Redis's own rules for `INCRBY`
//! (parse the stored bytes the way Redis's `string2ll` does, store the sum's decimal bytes). No
//! interning, no memo, no pruning: slow, and obviously right.

use std::collections::BTreeMap;

use crate::history::{Operation, Record};

/// The longest history [`is_linearizable`] accepts.
pub const MAX_OPERATIONS: usize = 10;

/// Whether `history` is linearizable; `None` if it has more than [`MAX_OPERATIONS`] operations.
pub fn is_linearizable(history: &[Record]) -> Option<bool> {
    if history.len() > MAX_OPERATIONS {
        return None;
    }
    let mut store = BTreeMap::new();
    Some(extend(history, 0, &mut store))
}

/// Whether the operations not in `used` can follow, from `store`.
fn extend(history: &[Record], used: u32, store: &mut BTreeMap<Vec<u8>, Vec<u8>>) -> bool {
    let unused = |index: usize| used & (1 << index) == 0;
    // Done when every operation with a reply is placed; the others may never have happened.
    if (0..history.len()).all(|index| !unused(index) || history[index].completed_at.is_none()) {
        return true;
    }
    for (index, record) in history.iter().enumerate() {
        if !unused(index) {
            continue;
        }
        // It may go next unless some unplaced operation ended before it started.
        let blocked = history.iter().enumerate().any(|(other, earlier)| {
            other != index
                && unused(other)
                && earlier
                    .completed_at
                    .is_some_and(|end| end.max(earlier.invoked_at) < record.invoked_at)
        });
        if blocked {
            continue;
        }
        let before = store.get(&record.key).cloned();
        if !apply(store, record) {
            continue;
        }
        if extend(history, used | (1 << index), store) {
            return true;
        }
        match before {
            Some(value) => store.insert(record.key.clone(), value),
            None => store.remove(&record.key),
        };
    }
    false
}

/// Applies `record` to `store` if it can happen there (a read of what is stored, an increment of an
/// integer with the recorded result); `false` (and `store` unchanged) if not.
fn apply(store: &mut BTreeMap<Vec<u8>, Vec<u8>>, record: &Record) -> bool {
    match &record.operation {
        Operation::Read(value) => store.get(&record.key) == value.as_ref(),
        Operation::Write(Some(value)) => {
            store.insert(record.key.clone(), value.clone());
            true
        }
        Operation::Write(None) => {
            store.remove(&record.key);
            true
        }
        Operation::Increment { by, result } => {
            let current = match store.get(&record.key) {
                None => 0,
                Some(bytes) => match string2ll(bytes) {
                    Some(current) => current,
                    None => return false,
                },
            };
            let Some(sum) = current.checked_add(*by) else {
                return false;
            };
            // Without a reply there is no result: one recorded anyway is ignored.
            let result = result.filter(|_| record.completed_at.is_some());
            if result.is_some_and(|result| result != sum) {
                return false;
            }
            store.insert(record.key.clone(), sum.to_string().into_bytes());
            true
        }
    }
}

/// Redis's `string2ll` (util.c): "0", or an optional '-' then a digit 1-9 then digits, in range.
fn string2ll(bytes: &[u8]) -> Option<i64> {
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut magnitude = u64::from(first - b'0');
    for &digit in rest {
        if !digit.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX's.
        if magnitude > i64::MAX as u64 + 1 {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_follows_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for not in [
            &b"007"[..],
            b"-0",
            b"+1",
            b" 1",
            b"",
            b"-",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(not), None, "{}", not.escape_ascii());
        }
    }

    fn record(operation: Operation, invoked_at: u64, completed_at: Option<u64>) -> Record {
        Record {
            key: b"k".to_vec(),
            operation,
            invoked_at,
            completed_at,
        }
    }

    #[test]
    fn counts_like_redis() {
        let set = record(Operation::Write(Some(b"10".to_vec())), 0, Some(1));
        let incr = record(
            Operation::Increment {
                by: 1,
                result: Some(11),
            },
            2,
            Some(3),
        );
        let get = record(Operation::Read(Some(b"11".to_vec())), 4, Some(5));
        assert_eq!(
            is_linearizable(&[set.clone(), incr.clone(), get.clone()]),
            Some(true)
        );
        let lost = record(Operation::Read(Some(b"10".to_vec())), 4, Some(5));
        assert_eq!(is_linearizable(&[set, incr, lost]), Some(false));
        assert_eq!(is_linearizable(&vec![get; 11]), None);
    }
}
