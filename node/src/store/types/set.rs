//! [`SetValue`]: a set's members; and the bucket-level helpers that sets and hashes share for
//! random picks (SPOP, SRANDMEMBER, HRANDFIELD) and cursors (SSCAN, HSCAN).
//!
//! The members live in a `hashbrown::HashTable`, which exposes its buckets: a random member is a
//! random occupied bucket (the table is shrunk when it gets sparse, so that takes a few tries),
//! and a scan cursor is a bucket index.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::{ELEMENT_OVERHEAD, FixedHasher};
use crate::eviction::SampleRng;

pub(super) fn hash(bytes: &[u8]) -> u64 {
    FixedHasher.hash_one(bytes)
}

#[derive(Debug, Clone, Default)]
pub struct SetValue {
    members: HashTable<Box<[u8]>>,
    /// Member bytes held.
    bytes: u64,
    /// Counts the times the table's layout may have been rebuilt (see [`Layout`]).
    layout: Layout,
}

impl PartialEq for SetValue {
    /// Equal members; the table layout is not part of the value.
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
        self.members
            .find(hash(member), |stored| &stored[..] == member)
            .is_some()
    }

    /// Adds `member`; true when it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        let key_hash = hash(member);
        if self
            .members
            .find(key_hash, |stored| &stored[..] == member)
            .is_some()
        {
            return false;
        }
        self.layout.before_insert(&self.members);
        self.bytes += member.len() as u64;
        self.members
            .insert_unique(key_hash, member.into(), |stored| hash(stored));
        true
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Ok(entry) = self
            .members
            .find_entry(hash(member), |stored| &stored[..] == member)
        else {
            return false;
        };
        entry.remove();
        self.bytes -= member.len() as u64;
        self.layout
            .after_remove(&mut self.members, |stored| hash(stored));
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|member| &member[..])
    }

    pub fn estimated_size(&self) -> u64 {
        self.bytes + self.members.len() as u64 * ELEMENT_OVERHEAD
    }

    /// A uniformly random member, `None` when empty.
    pub fn random(&self, rng: &mut SampleRng) -> Option<&[u8]> {
        random_bucket(&self.members, rng).map(|member| &member[..])
    }

    /// `count` distinct random members (all of them, in iteration order, when `count` is at least
    /// the size).
    pub fn random_distinct(&self, count: usize, rng: &mut SampleRng) -> Vec<&[u8]> {
        random_distinct(&self.members, count, rng)
            .into_iter()
            .map(|member| &member[..])
            .collect()
    }

    /// One step of a scan: see [`scan_table`].
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8])) -> u64 {
        scan_table(&self.members, self.layout, cursor, count, |member| {
            visit(member)
        })
    }
}

/// How many times a table's layout may have changed (growth, an in-place rehash that clears
/// tombstones, or a shrink): an insert when the table has no room left, or a shrink. Scan cursors
/// carry it, so a cursor made before a rebuild restarts instead of skipping members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Layout(u32);

impl Layout {
    pub(super) fn before_insert<T>(&mut self, table: &HashTable<T>) {
        // hashbrown rebuilds on an insert only when no growth room is left.
        if table.capacity() == table.len() {
            self.0 = self.0.wrapping_add(1);
        }
    }

    /// Shrinks a table that became sparse (fewer elements than an eighth of its buckets, past 64
    /// buckets) to about half full, which keeps random picks cheap and memory in line with the
    /// size.
    pub(super) fn after_remove<T>(&mut self, table: &mut HashTable<T>, hasher: impl Fn(&T) -> u64) {
        let buckets = table.num_buckets();
        if buckets > 64 && table.len() * 8 < buckets {
            table.shrink_to(table.len() * 2, hasher);
            self.0 = self.0.wrapping_add(1);
        }
    }

    fn tag(self) -> u64 {
        u64::from(self.0) & CURSOR_TAG_MASK
    }
}

/// A cursor is `next bucket << CURSOR_TAG_BITS | tag`: the next bucket to look at and the low
/// bits of the table's [`Layout`] when it was made (so a cursor that saw a multiple of 256 layout
/// changes in between is taken as current). 0 starts and ends a scan (a cursor to continue from
/// always has a bucket above 0).
const CURSOR_TAG_BITS: u32 = 8;
const CURSOR_TAG_MASK: u64 = (1 << CURSOR_TAG_BITS) - 1;

/// One step of a SSCAN/HSCAN over `table`: visits the elements of the buckets from `cursor` on,
/// stopping after `count` elements or `10 × count` buckets (Redis's bound), and returns the
/// cursor to continue from, 0 when the whole table was seen.
///
/// The guarantee: a full iteration (from cursor 0 back to 0) returns every element present from
/// its start to its end at least once, and exactly once when the table's layout did not change
/// in between. Removing elements never changes the layout, except when the table gets sparse and
/// is shrunk; adding elements changes it only when the table must grow (or clear tombstones).
/// A cursor made before a layout change restarts the scan from the beginning, so elements may
/// then be returned twice — never missed. Redis gives the same guarantee (its cursors also survive
/// rehashing without restarting). A cursor is only meaningful for the table that made it: after
/// the key was rebuilt (deleted and recreated, restored from a snapshot, or read on another
/// cluster member) it restarts or skips like a foreign cursor in Redis.
pub(super) fn scan_table<'t, T>(
    table: &'t HashTable<T>,
    layout: Layout,
    cursor: u64,
    count: usize,
    mut visit: impl FnMut(&'t T),
) -> u64 {
    let buckets = table.num_buckets();
    let mut bucket = if cursor & CURSOR_TAG_MASK != layout.tag() {
        0
    } else {
        usize::try_from(cursor >> CURSOR_TAG_BITS).unwrap_or(usize::MAX)
    };
    let count = count.max(1);
    let budget = count.saturating_mul(10);
    let (mut seen, mut looked) = (0, 0);
    while bucket < buckets && seen < count && looked < budget {
        if let Some(element) = table.get_bucket(bucket) {
            visit(element);
            seen += 1;
        }
        bucket += 1;
        looked += 1;
    }
    if bucket >= buckets {
        0
    } else {
        (bucket as u64) << CURSOR_TAG_BITS | layout.tag()
    }
}

/// A uniformly random element: random buckets until one is occupied (the table is kept at least
/// an eighth full once it has more than 64 buckets), then a walk as a fallback.
pub(super) fn random_bucket<'t, T>(table: &'t HashTable<T>, rng: &mut SampleRng) -> Option<&'t T> {
    if table.is_empty() {
        return None;
    }
    let buckets = table.num_buckets();
    for _ in 0..64 {
        if let Some(element) = table.get_bucket(rng.below(buckets)) {
            return Some(element);
        }
    }
    table.iter().nth(rng.below(table.len()))
}

/// `count` distinct random elements: all of them when `count` covers the table; a partial shuffle
/// when most are wanted; otherwise random buckets, skipping repeats.
pub(super) fn random_distinct<'t, T>(
    table: &'t HashTable<T>,
    count: usize,
    rng: &mut SampleRng,
) -> Vec<&'t T> {
    let size = table.len();
    if count >= size {
        return table.iter().collect();
    }
    if count.saturating_mul(3) > size {
        let mut all: Vec<&T> = table.iter().collect();
        for index in 0..count {
            let other = index + rng.below(size - index);
            all.swap(index, other);
        }
        all.truncate(count);
        return all;
    }
    let buckets = table.num_buckets();
    let mut chosen = hashbrown::HashSet::with_capacity_and_hasher(count, FixedHasher);
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let bucket = rng.below(buckets);
        if let Some(element) = table.get_bucket(bucket)
            && chosen.insert(bucket)
        {
            picked.push(element);
        }
    }
    picked
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
    fn equality_ignores_layout() {
        let mut grown = numbers(1000);
        for number in 10..1000 {
            grown.remove(number.to_string().as_bytes());
        }
        assert_eq!(grown, numbers(10));
        assert_ne!(numbers(11), numbers(10));
    }

    #[test]
    fn a_full_scan_returns_every_member_once() {
        let set = numbers(1000);
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = set.scan(cursor, 7, |member| seen.push(member.to_vec()));
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        assert!(calls > 100);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn a_scan_survives_removals_and_restarts_after_growth() {
        let mut set = numbers(100);
        let mut seen = std::collections::HashSet::new();
        let cursor = set.scan(0, 10, |member| {
            seen.insert(member.to_vec());
        });
        assert_ne!(cursor, 0);
        // Removing members that were already returned keeps the cursor valid.
        let returned: Vec<Vec<u8>> = seen.iter().cloned().collect();
        for member in &returned[..5] {
            set.remove(member);
        }
        let mut rest = Vec::new();
        let mut next = cursor;
        while next != 0 {
            next = set.scan(next, 10, |member| rest.push(member.to_vec()));
        }
        assert!(rest.iter().all(|member| !seen.contains(member)));
        assert_eq!(seen.len() + rest.len(), 100);
        // Growth changes the layout: an old cursor starts over rather than skipping.
        let cursor = set.scan(0, 10, |_| {});
        for number in 1000..3000 {
            set.insert(number.to_string().as_bytes());
        }
        let mut after = 0;
        let mut next = cursor;
        loop {
            next = set.scan(next, 10, |_| after += 1);
            if next == 0 {
                break;
            }
        }
        assert_eq!(after, set.len());
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
    fn sparse_tables_shrink() {
        let mut set = numbers(10_000);
        let buckets = set.members.num_buckets();
        for number in 10..10_000 {
            set.remove(number.to_string().as_bytes());
        }
        assert!(set.members.num_buckets() < buckets / 100);
        assert_eq!(set, numbers(10));
    }
}
