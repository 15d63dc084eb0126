//! [`HashValue`]: a hash's fields and values.

use hashbrown::HashMap;

use super::{ELEMENT_OVERHEAD, FixedHasher};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HashValue {
    fields: HashMap<Box<[u8]>, Box<[u8]>, FixedHasher>,
    /// Field and value bytes held.
    bytes: u64,
}

impl HashValue {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.fields.get(field).map(|value| &value[..])
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Sets `field`; true when it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.fields.get_mut(field) {
            Some(existing) => {
                self.bytes = self.bytes - existing.len() as u64 + value.len() as u64;
                *existing = value.into();
                false
            }
            None => {
                self.bytes += (field.len() + value.len()) as u64;
                self.fields.insert(field.into(), value.into());
                true
            }
        }
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.fields.remove(field) {
            Some(value) => {
                self.bytes -= (field.len() + value.len()) as u64;
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(field, value)| (&field[..], &value[..]))
    }

    pub fn estimated_size(&self) -> u64 {
        self.bytes + self.fields.len() as u64 * 2 * ELEMENT_OVERHEAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_size_follow_inserts_and_removes() {
        let mut hash = HashValue::default();
        assert!(hash.insert(b"a", b"1"));
        assert!(!hash.insert(b"a", b"22"));
        assert!(hash.insert(b"b", b"3"));
        assert_eq!(hash.get(b"a"), Some(&b"22"[..]));
        assert_eq!(hash.estimated_size(), 5 + 4 * ELEMENT_OVERHEAD);
        assert!(hash.remove(b"a"));
        assert!(!hash.remove(b"a"));
        assert_eq!(hash.estimated_size(), 2 + 2 * ELEMENT_OVERHEAD);
        assert_eq!(hash.len(), 1);
    }
}
