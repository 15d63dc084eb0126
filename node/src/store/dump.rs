//! Values in Redis's DUMP format ([`super::rdb`]): what `DUMP` returns, what `RESTORE` accepts,
//! and how a collection travels in a partition snapshot.

use super::Entry;
use super::rdb::{self, DumpError, DumpValue};
use super::types::{HashValue, ListValue, Object, SetValue, SortedSet};

/// The DUMP payload of an entry's value.
pub fn dump(entry: &Entry) -> Vec<u8> {
    rdb::encode(&dump_value(entry))
}

fn dump_value(entry: &Entry) -> DumpValue {
    let owned = |bytes: &[u8]| bytes.to_vec();
    match entry.object() {
        None => DumpValue::String(entry.value().to_vec()),
        Some(Object::Hash(hash)) => DumpValue::Hash(
            hash.iter()
                .map(|(field, value)| (owned(field), owned(value)))
                .collect(),
        ),
        Some(Object::List(list)) => DumpValue::List(list.iter().map(owned).collect()),
        Some(Object::Set(set)) => DumpValue::Set(set.iter().map(owned).collect()),
        Some(Object::ZSet(zset)) => DumpValue::SortedSet(
            zset.iter()
                .map(|(member, score)| (owned(member), score))
                .collect(),
        ),
    }
}

/// The entry a DUMP payload describes, at `key` with the given expiry.
pub fn restore(
    key: &[u8],
    payload: &[u8],
    expire_at_ms: u64,
    now_ms: u64,
) -> Result<Entry, DumpError> {
    let object = match rdb::decode(payload)? {
        DumpValue::String(value) => return Ok(Entry::new(key, &value, expire_at_ms, now_ms)),
        DumpValue::Hash(pairs) => {
            let mut hash = HashValue::default();
            for (field, value) in pairs {
                hash.insert(&field, &value);
            }
            Object::Hash(hash)
        }
        DumpValue::List(elements) => {
            let mut list = ListValue::default();
            for element in elements {
                list.push_back(&element);
            }
            Object::List(list)
        }
        DumpValue::Set(members) => {
            let mut set = SetValue::default();
            for member in members {
                set.insert(&member);
            }
            Object::Set(set)
        }
        DumpValue::SortedSet(members) => {
            let mut zset = SortedSet::new();
            for (member, score) in members {
                zset.insert(&member, score);
            }
            Object::ZSet(zset)
        }
    };
    Ok(Entry::with_object(key, object, expire_at_ms, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_a_payload() {
        let mut hash = HashValue::default();
        hash.insert(b"f", b"v");
        let mut list = ListValue::default();
        list.push_back(b"a");
        list.push_back(b"b");
        let mut set = SetValue::default();
        set.insert(b"m");
        let mut zset = SortedSet::new();
        zset.insert(b"z", 1.5);
        let entries = [
            Entry::new(b"s", b"text", 0, 0),
            Entry::with_object(b"h", Object::Hash(hash), 77, 0),
            Entry::with_object(b"l", Object::List(list), 0, 0),
            Entry::with_object(b"e", Object::Set(set), 0, 0),
            Entry::with_object(b"z", Object::ZSet(zset), 0, 0),
        ];
        for entry in entries {
            let back = restore(entry.key(), &dump(&entry), entry.expire_at_ms(), 0).unwrap();
            assert_eq!(back, entry);
        }
        assert!(restore(b"k", b"garbage", 0, 0).is_err());
    }
}
