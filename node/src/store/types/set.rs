//! [`SetValue`]: a set's members; and [`Dense`], the layout sets and hashes share.
//!
//! Elements live in a dense vector and a hash index maps each one to its position (4 bytes a
//! slot), as the keyspace's own [`crate::store::Store`] keeps its entries: a random element is a
//! random position (SPOP, SRANDMEMBER, HRANDFIELD), and a scan cursor is a position (SSCAN,
//! HSCAN) that stays valid however the collection grows. Removing swaps the last element into the
//! hole. The order is a function of the operations applied only (not of the hash table's
//! internals), and a collection rebuilt by inserting its elements in iteration order has the same
//! order again.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::{ELEMENT_OVERHEAD, FixedHasher};
use crate::eviction::SampleRng;

fn hash(bytes: &[u8]) -> u64 {
    FixedHasher.hash_one(bytes)
}

/// An element of a [`Dense`] collection: its identity is its key bytes.
pub(super) trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for Box<[u8]> {
    fn key(&self) -> &[u8] {
        self
    }
}

impl Keyed for (Box<[u8]>, Box<[u8]>) {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// Elements with unique keys, in a dense vector indexed by a hash table of positions.
#[derive(Debug, Clone)]
pub(super) struct Dense<T> {
    items: Vec<T>,
    index: HashTable<u32>,
}

impl<T> Default for Dense<T> {
    fn default() -> Self {
        Dense {
            items: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<T: Keyed> Dense<T> {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index
            .find(hash(key), |&position| items[position as usize].key() == key)
            .map(|&position| position as usize)
    }

    pub(super) fn get(&self, key: &[u8]) -> Option<&T> {
        self.position(key).map(|position| &self.items[position])
    }

    pub(super) fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.position(key).map(|position| &mut self.items[position])
    }

    /// Appends an element whose key is not present.
    pub(super) fn push(&mut self, item: T) {
        let position = self.items.len() as u32;
        let key_hash = hash(item.key());
        self.items.push(item);
        let items = &self.items;
        self.index.insert_unique(key_hash, position, |&position| {
            hash(items[position as usize].key())
        });
    }

    /// Removes the element with `key`; the last element takes its position.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<T> {
        let items = &self.items;
        let entry = self
            .index
            .find_entry(hash(key), |&position| items[position as usize].key() == key)
            .ok()?;
        let (position, _) = entry.remove();
        let position = position as usize;
        let last = self.items.len() - 1;
        if position != last {
            let last_hash = hash(self.items[last].key());
            if let Some(slot) = self
                .index
                .find_mut(last_hash, |&candidate| candidate as usize == last)
            {
                *slot = position as u32;
            }
        }
        let removed = self.items.swap_remove(position);
        self.shrink_if_sparse();
        Some(removed)
    }

    /// Gives memory back once three quarters of the room is unused.
    fn shrink_if_sparse(&mut self) {
        let length = self.items.len();
        if self.items.capacity() > 64 && length * 4 < self.items.capacity() {
            self.items.shrink_to(length * 2);
            let items = &self.items;
            self.index
                .shrink_to(length * 2, |&position| hash(items[position as usize].key()));
        }
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// A uniformly random element, `None` when empty.
    pub(super) fn random(&self, rng: &mut SampleRng) -> Option<&T> {
        if self.items.is_empty() {
            return None;
        }
        Some(&self.items[rng.below(self.items.len())])
    }

    /// `count` distinct random elements: all of them (in order) when `count` covers the
    /// collection; a partial shuffle when most are wanted; otherwise random positions, skipping
    /// repeats.
    pub(super) fn random_distinct(&self, count: usize, rng: &mut SampleRng) -> Vec<&T> {
        let size = self.items.len();
        if count >= size {
            return self.items.iter().collect();
        }
        if count.saturating_mul(3) > size {
            let mut all: Vec<&T> = self.items.iter().collect();
            for index in 0..count {
                let other = index + rng.below(size - index);
                all.swap(index, other);
            }
            all.truncate(count);
            return all;
        }
        let mut chosen = hashbrown::HashSet::with_capacity_and_hasher(count, FixedHasher);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let position = rng.below(size);
            if chosen.insert(position) {
                picked.push(&self.items[position]);
            }
        }
        picked
    }

    /// One step of a SSCAN/HSCAN: visits the `count` elements below the cursor's position (all
    /// positions at the start), and returns the cursor to continue from, 0 when all were seen. The cursor is the number of
    /// positions still to visit (0 starts a scan: all of them).
    ///
    /// The guarantee, as Redis's: a full iteration (from cursor 0 back to 0) returns every element
    /// present from its start to its end at least once. Scanning downwards keeps that true
    /// whatever happens in between: an insert appends above the cursor (it may be missed, as
    /// Redis allows for elements added meanwhile), and a removal moves the *last* element into
    /// the hole, which is either already visited (then returned again: the only way an element is
    /// returned twice) or stays below the cursor. Without removals every element is returned
    /// exactly once. Every call makes progress, so a scan always ends. A cursor describes the
    /// collection it came from: used on another one (the key deleted and created again) it scans
    /// part of it, as a foreign cursor does in Redis.
    pub(super) fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a T),
    ) -> u64 {
        let length = self.items.len();
        let remaining = if cursor == 0 {
            length
        } else {
            usize::try_from(cursor).unwrap_or(usize::MAX).min(length)
        };
        // The step's own elements go out in ascending order (a small collection scanned in one
        // call comes out as HGETALL/SMEMBERS list it); the steps go downwards.
        let start = remaining.saturating_sub(count.max(1));
        for item in &self.items[start..remaining] {
            visit(item);
        }
        start as u64
    }
}

#[derive(Debug, Clone, Default)]
pub struct SetValue {
    members: Dense<Box<[u8]>>,
    /// Member bytes held.
    bytes: u64,
}

impl PartialEq for SetValue {
    /// The same members, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.bytes == other.bytes
            && self.iter().all(|member| other.contains(member))
    }
}

impl SetValue {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.get(member).is_some()
    }

    /// Adds `member`; true when it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) {
            return false;
        }
        self.bytes += member.len() as u64;
        self.members.push(member.into());
        true
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.remove(member).is_some();
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

    /// A uniformly random member, `None` when empty.
    pub fn random(&self, rng: &mut SampleRng) -> Option<&[u8]> {
        self.members.random(rng).map(|member| &member[..])
    }

    /// `count` distinct random members (all of them, in iteration order, when `count` is at least
    /// the size).
    pub fn random_distinct(&self, count: usize, rng: &mut SampleRng) -> Vec<&[u8]> {
        self.members
            .random_distinct(count, rng)
            .into_iter()
            .map(|member| &member[..])
            .collect()
    }

    /// One step of a scan: see [`Dense::scan`] for the cursor and its guarantee.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8])) -> u64 {
        self.members
            .scan(cursor, count, |member| visit(&member[..]))
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
        assert!(!set.remove(b"a"));
        assert!(!set.contains(b"a"));
        assert!(set.contains(b"bc"));
        assert_eq!(set.estimated_size(), 2 + ELEMENT_OVERHEAD);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![&b"bc"[..]]);
    }

    fn numbers(count: usize) -> SetValue {
        let mut set = SetValue::default();
        for number in 0..count {
            set.insert(number.to_string().as_bytes());
        }
        set
    }

    #[test]
    fn removals_keep_the_index_consistent() {
        let mut set = numbers(2000);
        for number in (0..2000).step_by(3) {
            assert!(set.remove(number.to_string().as_bytes()));
        }
        for number in 0..2000 {
            assert_eq!(
                set.contains(number.to_string().as_bytes()),
                number % 3 != 0,
                "{number}"
            );
        }
        assert_eq!(set.len(), 1333);
        for number in 0..2000 {
            set.remove(number.to_string().as_bytes());
        }
        assert!(set.is_empty());
        assert_eq!(set.estimated_size(), 0);
    }

    #[test]
    fn equality_ignores_order() {
        let mut reversed = SetValue::default();
        for number in (0..10).rev() {
            reversed.insert(number.to_string().as_bytes());
        }
        assert_eq!(reversed, numbers(10));
        assert_ne!(numbers(11), numbers(10));
    }

    #[test]
    fn the_order_is_rebuilt_by_inserting_in_order() {
        let mut set = numbers(100);
        for number in (0..100).step_by(7) {
            set.remove(number.to_string().as_bytes());
        }
        let mut copy = SetValue::default();
        for member in set.iter() {
            copy.insert(member);
        }
        assert!(set.iter().eq(copy.iter()));
    }

    fn scan_all(set: &SetValue, count: usize) -> (Vec<Vec<u8>>, usize) {
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = set.scan(cursor, count, |member| seen.push(member.to_vec()));
            calls += 1;
            if cursor == 0 {
                return (seen, calls);
            }
        }
    }

    #[test]
    fn a_full_scan_returns_every_member_once() {
        let set = numbers(1000);
        let (mut seen, calls) = scan_all(&set, 7);
        assert_eq!(calls, 143);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
        assert_eq!(scan_all(&SetValue::default(), 10), (Vec::new(), 1));
    }

    #[test]
    fn a_scan_misses_nothing_while_the_set_changes() {
        let mut set = numbers(300);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = set.scan(cursor, 10, |member| {
                seen.insert(member.to_vec());
            });
            if cursor == 0 {
                break;
            }
            round += 1;
            // Growth far beyond the original size, and removals of members 200..300.
            for extra in 0..50 {
                set.insert(format!("new-{round}-{extra}").as_bytes());
            }
            set.remove((200 + round % 100).to_string().as_bytes());
        }
        for number in 0..200 {
            assert!(seen.contains(number.to_string().as_bytes()), "{number}");
        }
    }

    #[test]
    fn random_picks_are_members_and_distinct_when_asked() {
        let set = numbers(100);
        let mut rng = SampleRng::new(3);
        for _ in 0..100 {
            assert!(set.contains(set.random(&mut rng).unwrap()));
        }
        for count in [0, 1, 10, 40, 99, 100, 150] {
            let mut picked = set.random_distinct(count, &mut rng);
            assert_eq!(picked.len(), count.min(100));
            picked.sort();
            picked.dedup();
            assert_eq!(picked.len(), count.min(100));
            assert!(picked.iter().all(|member| set.contains(member)));
        }
        assert_eq!(SetValue::default().random(&mut rng), None);
    }

    #[test]
    fn emptied_sets_give_memory_back() {
        let mut set = numbers(10_000);
        for number in 10..10_000 {
            set.remove(number.to_string().as_bytes());
        }
        assert!(set.members.items.capacity() < 100);
        assert_eq!(set, numbers(10));
    }
}
