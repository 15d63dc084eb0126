//! [`fingerprint`]: a 64-bit digest of a key's value (type, content, expiry time) that every
//! replica computes alike, so a transaction can say "apply only if these keys still hold what I
//! saw" and every replica decides the same. Hashes and sets are digested independently of their
//! iteration order (a replica restored from a snapshot may order them differently).
//!
//! The digest is a fixed algorithm (FNV-1a with a final mix), never a seeded or
//! version-dependent hasher: members of different builds must agree.

use super::{Entry, Object};

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `state`; the length goes in first, so concatenations
/// of different splits differ.
fn absorb(mut state: u64, bytes: &[u8]) -> u64 {
    for byte in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
        state ^= u64::from(*byte);
        state = state.wrapping_mul(PRIME);
    }
    state
}

/// Spreads the bits of a finished digest (so order-independent sums of element digests do not
/// cancel out on similar elements).
fn mix(mut value: u64) -> u64 {
    value ^= value >> 33;
    value = value.wrapping_mul(0xff51_afd7_ed55_8ccd);
    value ^= value >> 33;
    value = value.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    value ^ (value >> 33)
}

/// The digest of a live key's value, or of its absence (`None`).
pub fn fingerprint(entry: Option<&Entry>) -> u64 {
    let Some(entry) = entry else {
        return 0;
    };
    let mut state = absorb(OFFSET, &entry.expire_at_ms().to_le_bytes());
    match entry.object() {
        None => {
            state = absorb(state, b"string");
            state = absorb(state, entry.value());
        }
        Some(Object::List(list)) => {
            state = absorb(state, b"list");
            for element in list.iter() {
                state = absorb(state, element);
            }
        }
        Some(Object::ZSet(zset)) => {
            state = absorb(state, b"zset");
            for (member, score) in zset.iter() {
                state = absorb(state, member);
                state = absorb(state, &score.to_bits().to_le_bytes());
            }
        }
        Some(Object::Hash(hash)) => {
            state = absorb(state, b"hash");
            let sum = hash.iter().fold(0u64, |sum, (field, value)| {
                sum.wrapping_add(mix(absorb(absorb(OFFSET, field), value)))
            });
            state = absorb(state, &sum.to_le_bytes());
        }
        Some(Object::Set(set)) => {
            state = absorb(state, b"set");
            let sum = set.iter().fold(0u64, |sum, member| {
                sum.wrapping_add(mix(absorb(OFFSET, member)))
            });
            state = absorb(state, &sum.to_le_bytes());
        }
    }
    // Never 0, which stands for "no key".
    mix(state) | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::types::{HashValue, SetValue};

    fn string(value: &[u8], expire_at_ms: u64) -> Entry {
        Entry::new(b"k", value, expire_at_ms, 0)
    }

    #[test]
    fn a_change_of_value_type_or_expiry_changes_the_digest() {
        let plain = fingerprint(Some(&string(b"1", 0)));
        assert_eq!(plain, fingerprint(Some(&string(b"1", 0))));
        assert_ne!(plain, fingerprint(Some(&string(b"2", 0))));
        assert_ne!(plain, fingerprint(Some(&string(b"1", 5_000))));
        assert_ne!(plain, fingerprint(None));
        assert_eq!(fingerprint(None), 0);
    }

    #[test]
    fn hashes_and_sets_digest_alike_in_any_order() {
        let mut one = SetValue::default();
        let mut two = SetValue::default();
        for member in [&b"a"[..], b"b", b"c"] {
            one.insert(member);
        }
        for member in [&b"c"[..], b"a", b"b"] {
            two.insert(member);
        }
        let digest =
            |set: SetValue| fingerprint(Some(&Entry::with_object(b"k", Object::Set(set), 0, 0)));
        assert_eq!(digest(one.clone()), digest(two));
        let mut three = one.clone();
        three.remove(b"c");
        assert_ne!(digest(one), digest(three));

        let mut hash = HashValue::default();
        hash.insert(b"f", b"1");
        let before = fingerprint(Some(&Entry::with_object(
            b"k",
            Object::Hash(hash.clone()),
            0,
            0,
        )));
        hash.insert(b"f", b"2");
        let after = fingerprint(Some(&Entry::with_object(b"k", Object::Hash(hash), 0, 0)));
        assert_ne!(before, after);
    }
}
