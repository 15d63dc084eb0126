//! [`SetValue`]: a set's members.

use hashbrown::HashSet;

use super::{ELEMENT_OVERHEAD, FixedHasher};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetValue {
    members: HashSet<Box<[u8]>, FixedHasher>,
    /// Member bytes held.
    bytes: u64,
}

impl SetValue {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    /// Adds `member`; true when it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.members.contains(member) {
            return false;
        }
        self.bytes += member.len() as u64;
        self.members.insert(member.into());
        true
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.remove(member);
        if removed {
            self.bytes -= member.len() as u64;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|member| &member[..])
    }

    pub fn estimated_size(&self) -> u64 {
        self.bytes + self.members.len() as u64 * ELEMENT_OVERHEAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_unique_and_counted() {
        let mut set = SetValue::default();
        assert!(set.insert(b"a"));
        assert!(!set.insert(b"a"));
        assert!(set.insert(b"bc"));
        assert_eq!(set.estimated_size(), 3 + 2 * ELEMENT_OVERHEAD);
        assert!(set.remove(b"a"));
        assert!(!set.contains(b"a"));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![&b"bc"[..]]);
    }
}
