//! [`HashValue`]: a hash's fields and values, laid out like [`super::SetValue`] (see
//! [`super::set`]'s `Dense`: random picks and scan cursors are positions in a dense vector).

use super::ELEMENT_OVERHEAD;
use super::set::Dense;
use crate::eviction::SampleRng;

/// A field and its value.
type Pair = (Box<[u8]>, Box<[u8]>);

#[derive(Debug, Clone, Default)]
pub struct HashValue {
    fields: Dense<Pair>,
    /// Field and value bytes held.
    bytes: u64,
}

impl PartialEq for HashValue {
    /// The same fields with the same values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.bytes == other.bytes
            && self
                .iter()
                .all(|(field, value)| other.get(field) == Some(value))
    }
}

impl HashValue {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.fields.get(field).map(|(_, value)| &value[..])
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.get(field).is_some()
    }

    /// Sets `field`; true when it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some((_, existing)) = self.fields.get_mut(field) {
            self.bytes = self.bytes - existing.len() as u64 + value.len() as u64;
            *existing = value.into();
            return false;
        }
        self.bytes += (field.len() + value.len()) as u64;
        self.fields.push((field.into(), value.into()));
        true
    }

    /// Sets `field` only when it is absent; true when it was set.
    pub fn insert_if_absent(&mut self, field: &[u8], value: &[u8]) -> bool {
        !self.contains(field) && self.insert(field, value)
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.fields.remove(field) {
            Some((_, value)) => {
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

    /// A uniformly random field and its value, `None` when empty.
    pub fn random(&self, rng: &mut SampleRng) -> Option<(&[u8], &[u8])> {
        self.fields
            .random(rng)
            .map(|(field, value)| (&field[..], &value[..]))
    }

    /// `count` distinct random fields with their values (all of them, in iteration order, when
    /// `count` is at least the size).
    pub fn random_distinct(&self, count: usize, rng: &mut SampleRng) -> Vec<(&[u8], &[u8])> {
        self.fields
            .random_distinct(count, rng)
            .into_iter()
            .map(|(field, value)| (&field[..], &value[..]))
            .collect()
    }

    /// One step of a scan, visiting fields and values: see [`super::set`]'s `Dense::scan` for the
    /// cursor and its guarantee.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        self.fields
            .scan(cursor, count, |(field, value)| visit(field, value))
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
        assert!(!hash.insert_if_absent(b"b", b"new"));
        assert!(hash.insert_if_absent(b"c", b"4"));
        assert_eq!(hash.get(b"b"), Some(&b"3"[..]));
        assert_eq!(hash.estimated_size(), 4 + 4 * ELEMENT_OVERHEAD);
    }

    fn numbered(count: usize) -> HashValue {
        let mut hash = HashValue::default();
        for number in 0..count {
            let text = number.to_string();
            hash.insert(text.as_bytes(), format!("v{text}").as_bytes());
        }
        hash
    }

    #[test]
    fn equality_compares_values() {
        let mut other = numbered(50);
        assert_eq!(numbered(50), other);
        other.insert(b"3", b"changed");
        assert_ne!(numbered(50), other);
    }

    #[test]
    fn scans_and_random_picks_see_pairs() {
        let hash = numbered(500);
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = hash.scan(cursor, 20, |field, value| {
                assert_eq!(value, [b"v", field].concat());
                seen.push(field.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 500);
        let mut rng = SampleRng::new(9);
        let (field, value) = hash.random(&mut rng).unwrap();
        assert_eq!(hash.get(field), Some(value));
        let picked = hash.random_distinct(200, &mut rng);
        let mut fields: Vec<&[u8]> = picked.iter().map(|(field, _)| *field).collect();
        fields.sort();
        fields.dedup();
        assert_eq!(fields.len(), 200);
    }
}
