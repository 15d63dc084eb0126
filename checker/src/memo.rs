//! The search's memo: the nodes seen, so that none is explored twice.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Nodes seen, by key (see `Search::visit`): for each key, an antichain of the sets of
/// unknown-outcome operations linearized, each as sorted `[class, count, …]` pairs.
#[derive(Default)]
pub(crate) struct Memo {
    seen: HashMap<Box<[u32]>, Antichain, BuildHasherDefault<WordHasher>>,
}

/// Sets of unknown-outcome operations used, none covering another.
type Antichain = Vec<Box<[u32]>>;

impl Memo {
    /// Records the node `key` with `unknowns` used (`counts`: the same, dense by class); `false` if
    /// a node with that key and at most these unknowns used (per class) was seen: it has every
    /// option this one has, and was or is being explored.
    pub(crate) fn insert(&mut self, key: &[u32], unknowns: &[u32], counts: &[u32]) -> bool {
        let Some(antichain) = self.seen.get_mut(key) else {
            self.seen.insert(key.into(), vec![unknowns.into()]);
            return true;
        };
        let covered = |seen: &[u32]| {
            seen.chunks(2)
                .all(|pair| counts[pair[0] as usize] >= pair[1])
        };
        if antichain.iter().any(|seen| covered(seen)) {
            return false;
        }
        antichain.retain(|seen| !dominates(unknowns, seen));
        antichain.push(unknowns.into());
        true
    }
}

/// Whether the sorted `[class, count, …]` set `lower` is covered by `upper` (per class, `<=`).
fn dominates(lower: &[u32], upper: &[u32]) -> bool {
    let mut upper = upper.chunks(2);
    'pairs: for pair in lower.chunks(2) {
        for other in upper.by_ref() {
            if other[0] == pair[0] {
                if other[1] >= pair[1] {
                    continue 'pairs;
                }
                return false;
            }
            if other[0] > pair[0] {
                return false;
            }
        }
        return false;
    }
    true
}

/// A fast hasher for the memo's keys (short `u32` slices, not chosen by an adversary).
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        let mixed = (self.0 ^ (self.0 >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed ^ (mixed >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_compares_counts_per_class() {
        assert!(dominates(&[], &[]));
        assert!(dominates(&[], &[0, 1]));
        assert!(dominates(&[1, 2], &[0, 1, 1, 3]));
        assert!(!dominates(&[1, 2], &[0, 1, 1, 1]));
        assert!(!dominates(&[1, 2], &[0, 1]));
        assert!(!dominates(&[0, 1], &[1, 1]));
        assert!(dominates(&[0, 1, 2, 1], &[0, 1, 1, 1, 2, 5]));
    }

    #[test]
    fn a_node_with_fewer_unknowns_used_covers_one_with_more() {
        let mut memo = Memo::default();
        assert!(memo.insert(&[1, 2], &[0, 2], &[2, 0]));
        assert!(!memo.insert(&[1, 2], &[0, 3], &[3, 0]));
        assert!(memo.insert(&[1, 2], &[1, 1], &[0, 1]));
        // Fewer than both: replaces them.
        assert!(memo.insert(&[1, 2], &[], &[0, 0]));
        assert!(!memo.insert(&[1, 2], &[0, 1], &[1, 0]));
        assert!(memo.insert(&[7], &[0, 3], &[3, 0]));
        assert_eq!(memo.seen.len(), 2);
    }
}
