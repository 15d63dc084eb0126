//! The large representation: a member arena, a hash index into it and a counted B+tree of
//! (score, arena slot).
//!
//! - The arena (`entries`) owns each member once; freed slots form a free list through
//!   [`Key::Vacant`], so slot numbers stay stable while a member lives.
//! - The hash index maps a member to its slot (a `u32` per table slot; hashes are recomputed from
//!   the arena on resize instead of being stored).
//! - Leaves hold up to 84 (score, slot) pairs in order and are doubly linked for range walks.
//!   Scores are copied into the leaves so a search compares members (an arena access) only on
//!   equal scores. Inner nodes hold per child the entry count (for ranks) and the minimum key
//!   (for routing; kept exact, so no key ever refers to a freed slot).
//! - Leaves live in a chunked vector, inner nodes in a `Vec`, both with free lists and addressed by
//!   `u32`. A node that a removal leaves under half full is merged with, or refilled from, a
//!   sibling; an append past the rightmost leaf (or before the leftmost) starts a new leaf instead
//!   of halving a full one, so ascending or descending loads pack leaves full.
//!
//! Shape depends on history, but nothing observable does: callers only see ranks and order.

use std::hash::{BuildHasher, Hasher};
use std::mem;

use hashbrown::HashTable;

use super::{Entry, InsertOutcome, Key, prefix_len};

/// "No node / no slot".
pub(super) const NONE: u32 = u32::MAX;
/// A cursor for an empty window; stepping it yields nothing.
pub(super) const NO_CURSOR: (u32, usize) = (NONE, 0);
/// Slots a leaf holds: 84 × 12 bytes + 16 = exactly 1 KiB, so a chunk of 64 leaves is 64 KiB with
/// no allocator size-class rounding; shifting 84 slots is cheap and a million members sit 4 levels
/// deep.
const LEAF_SLOTS: usize = 84;
/// Children an inner node holds (1,288 bytes).
const INNER_SLOTS: usize = 64;

/// Fixed seed: the table layout is then the same on every replica for the same operations.
const HASH_STATE: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x7a73_6574_2d69_6478);

fn hash_member(member: &[u8]) -> u64 {
    let mut hasher = HASH_STATE.build_hasher();
    hasher.write(member);
    hasher.finish()
}

/// Node capacities in use (the arrays are always full size); tests shrink them to grow deep trees
/// from few members, and may keep a tree large however small it gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caps {
    pub(super) leaf: usize,
    pub(super) inner: usize,
    pub(super) keep_large: bool,
}

#[derive(Clone)]
struct Leaf {
    len: u32,
    prev: u32,
    /// Next leaf in order; links the free list for a freed leaf.
    next: u32,
    scores: [f64; LEAF_SLOTS],
    ids: [u32; LEAF_SLOTS],
}

impl Leaf {
    fn empty() -> Leaf {
        Leaf {
            len: 0,
            prev: NONE,
            next: NONE,
            scores: [0.0; LEAF_SLOTS],
            ids: [NONE; LEAF_SLOTS],
        }
    }

    fn min(&self) -> Option<(f64, u32)> {
        (self.len > 0).then(|| (self.scores[0], self.ids[0]))
    }
}

#[derive(Clone)]
struct Inner {
    len: u32,
    /// Child nodes: leaves at height 1, inner nodes above; `children[0]` links the free list for a
    /// freed node.
    children: [u32; INNER_SLOTS],
    /// Entries under each child.
    counts: [u32; INNER_SLOTS],
    /// Each child's smallest key (score, slot).
    min_scores: [f64; INNER_SLOTS],
    min_ids: [u32; INNER_SLOTS],
}

impl Inner {
    fn empty() -> Inner {
        Inner {
            len: 0,
            children: [NONE; INNER_SLOTS],
            counts: [0; INNER_SLOTS],
            min_scores: [0.0; INNER_SLOTS],
            min_ids: [NONE; INNER_SLOTS],
        }
    }

    fn total(&self) -> usize {
        self.counts[..self.len as usize]
            .iter()
            .map(|&c| c as usize)
            .sum()
    }

    fn min(&self) -> Option<(f64, u32)> {
        (self.len > 0).then(|| (self.min_scores[0], self.min_ids[0]))
    }

    /// Inserts a child at `at`, shifting the later ones right (the caller ensures room).
    fn put(&mut self, at: usize, child: u32, count: usize, min: (f64, u32)) {
        let n = self.len as usize;
        self.children.copy_within(at..n, at + 1);
        self.counts.copy_within(at..n, at + 1);
        self.min_scores.copy_within(at..n, at + 1);
        self.min_ids.copy_within(at..n, at + 1);
        self.children[at] = child;
        self.counts[at] = count as u32;
        (self.min_scores[at], self.min_ids[at]) = min;
        self.len += 1;
    }

    /// Removes the child at `at`, shifting the later ones left.
    fn cut(&mut self, at: usize) {
        let n = self.len as usize;
        self.children.copy_within(at + 1..n, at);
        self.counts.copy_within(at + 1..n, at);
        self.min_scores.copy_within(at + 1..n, at);
        self.min_ids.copy_within(at + 1..n, at);
        self.len -= 1;
    }

    /// Copies children `from..from + count` of `source` to `self` at `at` (overwriting).
    fn copy_from(&mut self, at: usize, source: &Inner, from: usize, count: usize) {
        self.children[at..at + count].copy_from_slice(&source.children[from..from + count]);
        self.counts[at..at + count].copy_from_slice(&source.counts[from..from + count]);
        self.min_scores[at..at + count].copy_from_slice(&source.min_scores[from..from + count]);
        self.min_ids[at..at + count].copy_from_slice(&source.min_ids[from..from + count]);
    }

    /// Moves children `from..n` to start at `to` within this node.
    fn shift(&mut self, from: usize, to: usize, n: usize) {
        self.children.copy_within(from..n, to);
        self.counts.copy_within(from..n, to);
        self.min_scores.copy_within(from..n, to);
        self.min_ids.copy_within(from..n, to);
    }
}

/// What a removal descends to: a rank (removing a run from there, within one leaf), or an exact
/// key (score, slot).
#[derive(Clone, Copy)]
enum Target {
    Rank(usize),
    Key(f64, u32),
}

#[derive(Clone)]
pub(super) struct Tree {
    /// The arena, in 32 KiB chunks.
    entries: Chunked<Entry, 10>,
    free_entry: u32,
    index: HashTable<u32>,
    /// In 64 KiB chunks.
    leaves: Chunked<Leaf, 6>,
    inners: Vec<Inner>,
    free_leaf: u32,
    free_inner: u32,
    root: u32,
    /// 0 when the root is a leaf.
    height: u32,
    len: usize,
    caps: Caps,
}

fn pair_mut<T>(items: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    if a < b {
        let (low, high) = items.split_at_mut(b);
        (&mut low[a], &mut high[0])
    } else {
        let (low, high) = items.split_at_mut(a);
        (&mut high[0], &mut low[b])
    }
}

/// A vector stored in chunks of `1 << SHIFT` elements: growing never moves or copies earlier
/// elements (no multi-megabyte reallocation spikes, no freed old buffers awaiting the allocator's
/// purge, which with mimalloc nearly doubled the RSS of a freshly grown million-member set), and
/// spare capacity is at most one chunk. The first chunk grows like a `Vec` so small trees stay
/// small.
#[derive(Clone)]
struct Chunked<T, const SHIFT: u32> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T, const SHIFT: u32> Chunked<T, SHIFT> {
    const CHUNK: usize = 1 << SHIFT;

    fn from_vec(items: Vec<T>) -> Self {
        let len = items.len();
        if len <= Self::CHUNK {
            let chunks = if len == 0 { Vec::new() } else { vec![items] };
            return Chunked { chunks, len };
        }
        let mut chunked = Chunked {
            chunks: Vec::with_capacity(len.div_ceil(Self::CHUNK)),
            len: 0,
        };
        for item in items {
            chunked.push(item);
        }
        chunked
    }

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> SHIFT)?
            .get(index & (Self::CHUNK - 1))
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks
            .get_mut(index >> SHIFT)?
            .get_mut(index & (Self::CHUNK - 1))
    }

    fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < Self::CHUNK => {
                if last.len() == last.capacity() {
                    let capacity = last.capacity();
                    last.reserve_exact((capacity * 2).clamp(4, Self::CHUNK) - capacity);
                }
                last.push(item);
            }
            _ => {
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() {
                    4
                } else {
                    Self::CHUNK
                });
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Two distinct elements, mutably.
    fn pair_mut(&mut self, a: usize, b: usize) -> (&mut T, &mut T) {
        let (chunk_a, chunk_b) = (a >> SHIFT, b >> SHIFT);
        let (at_a, at_b) = (a & (Self::CHUNK - 1), b & (Self::CHUNK - 1));
        if chunk_a == chunk_b {
            pair_mut(&mut self.chunks[chunk_a], at_a, at_b)
        } else {
            let (x, y) = pair_mut(&mut self.chunks, chunk_a, chunk_b);
            (&mut x[at_a], &mut y[at_b])
        }
    }
}

impl<T, const SHIFT: u32> std::ops::Index<usize> for Chunked<T, SHIFT> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index >> SHIFT][index & (Self::CHUNK - 1)]
    }
}

impl<T, const SHIFT: u32> std::ops::IndexMut<usize> for Chunked<T, SHIFT> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index >> SHIFT][index & (Self::CHUNK - 1)]
    }
}

impl Tree {
    pub(super) const DEFAULT_CAPS: Caps = Caps {
        leaf: LEAF_SLOTS,
        inner: INNER_SLOTS,
        keep_large: false,
    };

    /// Builds a tree over `entries`, which must be sorted by (score, member) without duplicates;
    /// leaves and inner nodes are packed full. O(n).
    pub(super) fn from_sorted(entries: Vec<Entry>, caps: Caps) -> Tree {
        let caps = Caps {
            leaf: caps.leaf.clamp(4, LEAF_SLOTS),
            inner: caps.inner.clamp(4, INNER_SLOTS),
            keep_large: caps.keep_large,
        };
        let len = entries.len();
        let mut tree = Tree {
            entries: Chunked::from_vec(entries),
            free_entry: NONE,
            index: HashTable::with_capacity(len),
            leaves: Chunked::from_vec(Vec::new()),
            inners: Vec::new(),
            free_leaf: NONE,
            free_inner: NONE,
            root: 0,
            height: 0,
            len,
            caps,
        };
        let entries = &tree.entries;
        for (id, entry) in entries.iter().enumerate() {
            tree.index
                .insert_unique(hash_member(entry.key.bytes()), id as u32, |&x| {
                    hash_member(entries[x as usize].key.bytes())
                });
        }
        // Split `total` items into the fewest groups of at most `cap`, sizes differing by one.
        let groups = |total: usize, cap: usize| {
            let count = total.div_ceil(cap).max(1);
            (0..count).map(move |g| total / count + usize::from(g < total % count))
        };
        // Current level: (node, entries under it, its minimum).
        let mut level: Vec<(u32, usize, (f64, u32))> = Vec::new();
        let mut next_id = 0;
        let leaf_sizes: Vec<usize> = groups(len, caps.leaf).collect();
        let leaf_count = leaf_sizes.len();
        for (g, size) in leaf_sizes.into_iter().enumerate() {
            let mut leaf = Leaf::empty();
            for k in 0..size {
                leaf.scores[k] = tree.entries[next_id + k].score;
                leaf.ids[k] = (next_id + k) as u32;
            }
            leaf.len = size as u32;
            leaf.prev = if g > 0 { g as u32 - 1 } else { NONE };
            leaf.next = if g + 1 < leaf_count {
                g as u32 + 1
            } else {
                NONE
            };
            level.push((g as u32, size, leaf.min().unwrap_or((0.0, NONE))));
            tree.leaves.push(leaf);
            next_id += size;
        }
        while level.len() > 1 {
            let sizes: Vec<usize> = groups(level.len(), caps.inner).collect();
            let mut parents = Vec::with_capacity(sizes.len());
            let mut children = level.into_iter();
            for size in sizes {
                let mut inner = Inner::empty();
                for (at, (child, count, min)) in children.by_ref().take(size).enumerate() {
                    inner.put(at, child, count, min);
                }
                let total = inner.total();
                let min = inner.min().unwrap_or((0.0, NONE));
                parents.push((tree.inners.len() as u32, total, min));
                tree.inners.push(inner);
            }
            level = parents;
            tree.height += 1;
        }
        tree.root = level.first().map_or(0, |&(node, _, _)| node);
        tree
    }

    /// Takes the entries out in order (for turning small or compacting).
    pub(super) fn into_sorted(mut self) -> Vec<Entry> {
        let mut sorted = Vec::with_capacity(self.len);
        let mut cursor = self.cursor(0);
        while let Some(leaf) = self.leaves.get(cursor.0 as usize) {
            for &id in &leaf.ids[..leaf.len as usize] {
                if let Some(entry) = self.entries.get_mut(id as usize) {
                    let key = mem::replace(&mut entry.key, Key::Vacant { next_free: NONE });
                    sorted.push(Entry {
                        key,
                        score: entry.score,
                    });
                }
            }
            cursor = (leaf.next, 0);
        }
        sorted
    }

    pub(super) fn caps(&self) -> Caps {
        self.caps
    }

    pub(super) fn keeps_large(&self) -> bool {
        self.caps.keep_large
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Arena slots, live or free.
    pub(super) fn arena_len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn member(&self, id: u32) -> &[u8] {
        self.entries.get(id as usize).map_or(&[], |e| e.key.bytes())
    }

    fn lookup(&self, member: &[u8]) -> Option<u32> {
        let entries = &self.entries;
        let found = self.index.find(hash_member(member), |&x| {
            entries[x as usize].key.bytes() == member
        });
        found.copied()
    }

    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        Some(self.entries[self.lookup(member)? as usize].score)
    }

    /// Whether key (s1, id1) orders before (s2, id2): by score, then member bytes.
    fn key_lt(&self, s1: f64, id1: u32, s2: f64, id2: u32) -> bool {
        if s1 < s2 {
            true
        } else if s1 > s2 {
            false
        } else {
            id1 != id2 && self.member(id1) < self.member(id2)
        }
    }

    fn node_min(&self, node: u32, height: u32) -> (f64, u32) {
        let min = if height == 0 {
            self.leaves[node as usize].min()
        } else {
            self.inners[node as usize].min()
        };
        min.unwrap_or((0.0, NONE))
    }

    fn node_count(&self, node: u32, height: u32) -> usize {
        if height == 0 {
            self.leaves[node as usize].len as usize
        } else {
            self.inners[node as usize].total()
        }
    }

    fn node_len(&self, node: u32, height: u32) -> usize {
        if height == 0 {
            self.leaves[node as usize].len as usize
        } else {
            self.inners[node as usize].len as usize
        }
    }

    /// Index of the child of `inner` whose subtree holds key (score, id), or would.
    fn route(&self, inner: &Inner, score: f64, id: u32) -> usize {
        let k = prefix_len(inner.len as usize, |j| {
            !self.key_lt(score, id, inner.min_scores[j], inner.min_ids[j])
        });
        k.saturating_sub(1)
    }

    /// Leaf, position and rank of the slot holding key (score, id).
    fn find(&self, score: f64, id: u32) -> Option<(u32, usize, usize)> {
        let (mut node, mut rank) = (self.root, 0);
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let i = self.route(inner, score, id);
            rank += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            node = inner.children[i];
        }
        let leaf = &self.leaves[node as usize];
        let n = leaf.len as usize;
        let pos = prefix_len(n, |j| self.key_lt(leaf.scores[j], leaf.ids[j], score, id));
        (pos < n && leaf.ids[pos] == id).then_some((node, pos, rank + pos))
    }

    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        let id = self.lookup(member)?;
        Some(self.find(self.entries[id as usize].score, id)?.2)
    }

    /// Number of leading entries (in order) for which `pred(score, slot)` holds; `pred` must hold
    /// on a prefix. O(log n).
    pub(super) fn partition(&self, pred: impl Fn(f64, u32) -> bool) -> usize {
        let (mut node, mut base) = (self.root, 0);
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let k = prefix_len(inner.len as usize, |j| {
                pred(inner.min_scores[j], inner.min_ids[j])
            });
            if k == 0 {
                return base;
            }
            base += inner.counts[..k - 1]
                .iter()
                .map(|&c| c as usize)
                .sum::<usize>();
            node = inner.children[k - 1];
        }
        let leaf = &self.leaves[node as usize];
        base + prefix_len(leaf.len as usize, |j| pred(leaf.scores[j], leaf.ids[j]))
    }

    /// Leaf and position of the entry at `rank`.
    fn locate(&self, mut rank: usize) -> Option<(u32, usize)> {
        if rank >= self.len {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let n = inner.len as usize;
            let mut i = 0;
            while i + 1 < n && rank >= inner.counts[i] as usize {
                rank -= inner.counts[i] as usize;
                i += 1;
            }
            node = inner.children[i];
        }
        (rank < self.leaves[node as usize].len as usize).then_some((node, rank))
    }

    pub(super) fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        let (leaf, pos) = self.locate(rank)?;
        let leaf = &self.leaves[leaf as usize];
        Some((self.member(leaf.ids[pos]), leaf.scores[pos]))
    }

    /// A forward cursor at `rank`.
    pub(super) fn cursor(&self, rank: usize) -> (u32, usize) {
        self.locate(rank).unwrap_or(NO_CURSOR)
    }

    /// A backward cursor whose first step yields the entry at `rank`.
    pub(super) fn cursor_after(&self, rank: usize) -> (u32, usize) {
        self.locate(rank)
            .map_or(NO_CURSOR, |(leaf, pos)| (leaf, pos + 1))
    }

    /// Yields the entry at a forward cursor (leaf, position) and advances it.
    pub(super) fn step_forward(&self, cursor: &mut (u32, usize)) -> Option<(&[u8], f64)> {
        loop {
            let leaf = self.leaves.get(cursor.0 as usize)?;
            if cursor.1 < leaf.len as usize {
                let pos = cursor.1;
                cursor.1 += 1;
                return Some((self.member(leaf.ids[pos]), leaf.scores[pos]));
            }
            *cursor = (leaf.next, 0);
        }
    }

    /// Yields the entry before a backward cursor (leaf, end position) and moves it back.
    pub(super) fn step_back(&self, cursor: &mut (u32, usize)) -> Option<(&[u8], f64)> {
        loop {
            let leaf = self.leaves.get(cursor.0 as usize)?;
            let end = cursor.1.min(leaf.len as usize);
            if end > 0 {
                cursor.1 = end - 1;
                return Some((self.member(leaf.ids[end - 1]), leaf.scores[end - 1]));
            }
            let prev = leaf.prev;
            cursor.0 = prev;
            cursor.1 = self.leaves.get(prev as usize).map_or(0, |l| l.len as usize);
        }
    }

    pub(super) fn insert(&mut self, member: &[u8], score: f64) -> InsertOutcome {
        let hash = hash_member(member);
        let entries = &self.entries;
        let existing = self
            .index
            .find(hash, |&x| entries[x as usize].key.bytes() == member);
        if let Some(&id) = existing {
            let old = self.entries[id as usize].score;
            if old == score {
                return InsertOutcome::Unchanged;
            }
            self.rescore(id, old, score);
            return InsertOutcome::Updated { old };
        }
        let Some(id) = self.alloc_entry(Entry {
            key: Key::new(member),
            score,
        }) else {
            return InsertOutcome::Rejected;
        };
        let entries = &self.entries;
        self.index
            .insert_unique(hash, id, |&x| hash_member(entries[x as usize].key.bytes()));
        self.link(score, id);
        self.len += 1;
        InsertOutcome::Added
    }

    pub(super) fn remove(&mut self, member: &[u8]) -> Option<(Key, f64)> {
        let entries = &self.entries;
        let found = self.index.find_entry(hash_member(member), |&x| {
            entries[x as usize].key.bytes() == member
        });
        let (id, _) = found.ok()?.remove();
        let score = self.entries[id as usize].score;
        self.unlink(score, id);
        self.len -= 1;
        Some(self.free_entry(id))
    }

    /// Removes `count` entries from ascending rank `start`, handing each (in order) to `take`.
    /// Each descent removes a run within one leaf, so this costs O(log n + count).
    pub(super) fn remove_window(
        &mut self,
        start: usize,
        count: usize,
        mut take: impl FnMut(Key, f64),
    ) -> usize {
        let mut left = count.min(self.len.saturating_sub(start));
        let mut ids = Vec::with_capacity(left);
        while left > 0 {
            let removed =
                self.remove_rec(self.root, self.height, Target::Rank(start), left, &mut ids);
            if removed == 0 {
                break;
            }
            left -= removed;
            self.collapse_root();
        }
        self.len -= ids.len();
        for &id in &ids {
            let hash = hash_member(self.member(id));
            if let Ok(found) = self.index.find_entry(hash, |&x| x == id) {
                found.remove();
            }
            let (key, score) = self.free_entry(id);
            take(key, score);
        }
        ids.len()
    }

    fn alloc_entry(&mut self, entry: Entry) -> Option<u32> {
        if let Some(slot) = self.entries.get_mut(self.free_entry as usize) {
            let next = match slot.key {
                Key::Vacant { next_free } => next_free,
                _ => NONE, // cannot happen: only vacant slots are on the free list
            };
            let id = self.free_entry;
            *slot = entry;
            self.free_entry = next;
            return Some(id);
        }
        if self.entries.len() >= super::MAX_LEN {
            return None;
        }
        self.entries.push(entry);
        Some(self.entries.len() as u32 - 1)
    }

    fn free_entry(&mut self, id: u32) -> (Key, f64) {
        let next_free = self.free_entry;
        let Some(entry) = self.entries.get_mut(id as usize) else {
            return (Key::Vacant { next_free: NONE }, 0.0);
        };
        self.free_entry = id;
        (
            mem::replace(&mut entry.key, Key::Vacant { next_free }),
            entry.score,
        )
    }

    fn alloc_leaf(&mut self, leaf: Leaf) -> u32 {
        if let Some(slot) = self.leaves.get_mut(self.free_leaf as usize) {
            let id = self.free_leaf;
            self.free_leaf = slot.next;
            *slot = leaf;
            return id;
        }
        self.leaves.push(leaf);
        self.leaves.len() as u32 - 1
    }

    fn release_leaf(&mut self, id: u32) {
        let leaf = &mut self.leaves[id as usize];
        (leaf.len, leaf.prev, leaf.next) = (0, NONE, self.free_leaf);
        self.free_leaf = id;
    }

    fn alloc_inner(&mut self, inner: Inner) -> u32 {
        if let Some(slot) = self.inners.get_mut(self.free_inner as usize) {
            let id = self.free_inner;
            self.free_inner = slot.children[0];
            *slot = inner;
            return id;
        }
        self.inners.push(inner);
        self.inners.len() as u32 - 1
    }

    fn release_inner(&mut self, id: u32) {
        let inner = &mut self.inners[id as usize];
        inner.len = 0;
        inner.children[0] = self.free_inner;
        self.free_inner = id;
    }

    /// Moves entry `id` from score `old` to `new`: in place when its neighbours keep it in order
    /// and it is not a leaf's first (whose key its ancestors copy), else unlink and relink.
    fn rescore(&mut self, id: u32, old: f64, new: f64) {
        if let Some((leaf_id, pos, _)) = self.find(old, id) {
            let leaf = &self.leaves[leaf_id as usize];
            let n = leaf.len as usize;
            let after_prev =
                pos > 0 && self.key_lt(leaf.scores[pos - 1], leaf.ids[pos - 1], new, id);
            let before_next = if pos + 1 < n {
                self.key_lt(new, id, leaf.scores[pos + 1], leaf.ids[pos + 1])
            } else {
                match self.leaves.get(leaf.next as usize).and_then(Leaf::min) {
                    Some((score, next_id)) => self.key_lt(new, id, score, next_id),
                    None => true,
                }
            };
            if after_prev && before_next {
                self.leaves[leaf_id as usize].scores[pos] = new;
                self.entries[id as usize].score = new;
                return;
            }
        }
        self.unlink(old, id);
        self.entries[id as usize].score = new;
        self.link(new, id);
    }

    /// Adds key (score, id) to the tree, growing a new root when the old one splits.
    fn link(&mut self, score: f64, id: u32) {
        let Some(right) = self.insert_rec(self.root, self.height, score, id) else {
            return;
        };
        let (left, height) = (self.root, self.height);
        let mut root = Inner::empty();
        root.put(
            0,
            left,
            self.node_count(left, height),
            self.node_min(left, height),
        );
        root.put(
            1,
            right,
            self.node_count(right, height),
            self.node_min(right, height),
        );
        self.root = self.alloc_inner(root);
        self.height += 1;
    }

    fn unlink(&mut self, score: f64, id: u32) {
        self.remove_rec(
            self.root,
            self.height,
            Target::Key(score, id),
            1,
            &mut Vec::new(),
        );
        self.collapse_root();
    }

    /// Inserts into the subtree at `node`; returns a new right sibling when `node` split.
    fn insert_rec(&mut self, node: u32, height: u32, score: f64, id: u32) -> Option<u32> {
        if height == 0 {
            return self.leaf_insert(node, score, id);
        }
        let inner = &self.inners[node as usize];
        let i = self.route(inner, score, id);
        let child = inner.children[i];
        let split = self.insert_rec(child, height - 1, score, id);
        let child_min = self.node_min(child, height - 1);
        let sibling = split.map(|r| {
            (
                r,
                self.node_count(r, height - 1),
                self.node_min(r, height - 1),
            )
        });
        let inner = &mut self.inners[node as usize];
        inner.counts[i] += 1;
        (inner.min_scores[i], inner.min_ids[i]) = child_min;
        let (right, right_count, right_min) = sibling?;
        inner.counts[i] -= right_count as u32;
        self.inner_add_child(node, i + 1, right, right_count, right_min)
    }

    fn leaf_insert(&mut self, node: u32, score: f64, id: u32) -> Option<u32> {
        let cap = self.caps.leaf;
        let leaf = &self.leaves[node as usize];
        let n = leaf.len as usize;
        let pos = prefix_len(n, |j| self.key_lt(leaf.scores[j], leaf.ids[j], score, id));
        if n < cap {
            let leaf = &mut self.leaves[node as usize];
            leaf.scores.copy_within(pos..n, pos + 1);
            leaf.ids.copy_within(pos..n, pos + 1);
            (leaf.scores[pos], leaf.ids[pos]) = (score, id);
            leaf.len += 1;
            return None;
        }
        // Full: split, keeping the full leaf whole when appending at the far right (or prepending
        // at the far left), so sequential loads leave full leaves rather than half-full ones.
        let keep = if pos == n && leaf.next == NONE {
            n
        } else if pos == 0 && leaf.prev == NONE {
            0
        } else {
            n / 2
        };
        let mut right = Leaf::empty();
        right.scores[..n - keep].copy_from_slice(&leaf.scores[keep..n]);
        right.ids[..n - keep].copy_from_slice(&leaf.ids[keep..n]);
        (right.len, right.prev, right.next) = ((n - keep) as u32, node, leaf.next);
        let old_next = leaf.next;
        let right_id = self.alloc_leaf(right);
        if let Some(next) = self.leaves.get_mut(old_next as usize) {
            next.prev = right_id;
        }
        let left = &mut self.leaves[node as usize];
        (left.len, left.next) = (keep as u32, right_id);
        let (target, at) = if pos < keep || (pos == keep && keep < n) {
            (node, pos)
        } else {
            (right_id, pos - keep)
        };
        let target = &mut self.leaves[target as usize];
        let target_len = target.len as usize;
        target.scores.copy_within(at..target_len, at + 1);
        target.ids.copy_within(at..target_len, at + 1);
        (target.scores[at], target.ids[at]) = (score, id);
        target.len += 1;
        Some(right_id)
    }

    /// Adds a child at `at` of inner `node`, splitting it in half when full; returns the new right
    /// half.
    fn inner_add_child(
        &mut self,
        node: u32,
        at: usize,
        child: u32,
        count: usize,
        min: (f64, u32),
    ) -> Option<u32> {
        let inner = &mut self.inners[node as usize];
        let n = inner.len as usize;
        if n < self.caps.inner {
            inner.put(at, child, count, min);
            return None;
        }
        let mid = n / 2;
        let mut right = Inner::empty();
        right.copy_from(0, inner, mid, n - mid);
        right.len = (n - mid) as u32;
        inner.len = mid as u32;
        if at <= mid {
            inner.put(at, child, count, min);
        } else {
            right.put(at - mid, child, count, min);
        }
        Some(self.alloc_inner(right))
    }

    /// Removes from the subtree at `node`: the entry with the given key, or up to `max` entries
    /// from the given rank within a single leaf (their slots appended to `removed`). Returns how
    /// many entries went, having fixed counts, minimums and underfull children on the way up.
    fn remove_rec(
        &mut self,
        node: u32,
        height: u32,
        target: Target,
        max: usize,
        removed: &mut Vec<u32>,
    ) -> usize {
        if height == 0 {
            return self.leaf_remove(node, target, max, removed);
        }
        let inner = &self.inners[node as usize];
        let n = inner.len as usize;
        let (i, sub_target) = match target {
            Target::Rank(mut rank) => {
                let mut i = 0;
                while i < n && rank >= inner.counts[i] as usize {
                    rank -= inner.counts[i] as usize;
                    i += 1;
                }
                if i == n {
                    return 0;
                }
                (i, Target::Rank(rank))
            }
            Target::Key(score, id) => (self.route(inner, score, id), target),
        };
        let child = inner.children[i];
        let gone = self.remove_rec(child, height - 1, sub_target, max, removed);
        if gone == 0 {
            return 0;
        }
        let child_len = self.node_len(child, height - 1);
        let child_min = self.node_min(child, height - 1);
        let inner = &mut self.inners[node as usize];
        inner.counts[i] = inner.counts[i].saturating_sub(gone as u32);
        if child_len > 0 {
            (inner.min_scores[i], inner.min_ids[i]) = child_min;
        }
        let cap = if height == 1 {
            self.caps.leaf
        } else {
            self.caps.inner
        };
        if child_len < cap / 2 && inner.len > 1 {
            let left = i.saturating_sub(1).min(inner.len as usize - 2);
            if height == 1 {
                self.rebalance_leaves(node, left);
            } else {
                self.rebalance_inners(node, left);
            }
        }
        gone
    }

    fn leaf_remove(
        &mut self,
        node: u32,
        target: Target,
        max: usize,
        removed: &mut Vec<u32>,
    ) -> usize {
        let leaf = &self.leaves[node as usize];
        let n = leaf.len as usize;
        let (pos, take) = match target {
            Target::Rank(rank) if rank < n => (rank, max.min(n - rank)),
            Target::Rank(_) => return 0,
            Target::Key(score, id) => {
                let pos = prefix_len(n, |j| self.key_lt(leaf.scores[j], leaf.ids[j], score, id));
                if pos >= n || leaf.ids[pos] != id {
                    return 0;
                }
                (pos, 1)
            }
        };
        if let Target::Rank(_) = target {
            removed.extend_from_slice(&leaf.ids[pos..pos + take]);
        }
        let leaf = &mut self.leaves[node as usize];
        leaf.scores.copy_within(pos + take..n, pos);
        leaf.ids.copy_within(pos + take..n, pos);
        leaf.len = (n - take) as u32;
        take
    }

    /// Fixes an underfull child among children `left` and `left + 1` of `parent`: merges them when
    /// they fit one leaf, else splits their entries evenly.
    fn rebalance_leaves(&mut self, parent: u32, left: usize) {
        let (l, r) = {
            let p = &self.inners[parent as usize];
            (p.children[left], p.children[left + 1])
        };
        let (a, b) = self.leaves.pair_mut(l as usize, r as usize);
        let (ln, rn) = (a.len as usize, b.len as usize);
        if ln + rn <= self.caps.leaf {
            a.scores[ln..ln + rn].copy_from_slice(&b.scores[..rn]);
            a.ids[ln..ln + rn].copy_from_slice(&b.ids[..rn]);
            a.len = (ln + rn) as u32;
            let after = b.next;
            a.next = after;
            if let Some(next) = self.leaves.get_mut(after as usize) {
                next.prev = l;
            }
            self.release_leaf(r);
            self.merge_counts(parent, left, 0);
            return;
        }
        let target = (ln + rn) / 2;
        let moved = if ln < target {
            let k = target - ln;
            a.scores[ln..target].copy_from_slice(&b.scores[..k]);
            a.ids[ln..target].copy_from_slice(&b.ids[..k]);
            b.scores.copy_within(k..rn, 0);
            b.ids.copy_within(k..rn, 0);
            k as i64
        } else {
            let k = ln - target;
            b.scores.copy_within(0..rn, k);
            b.ids.copy_within(0..rn, k);
            b.scores[..k].copy_from_slice(&a.scores[target..ln]);
            b.ids[..k].copy_from_slice(&a.ids[target..ln]);
            -(k as i64)
        };
        a.len = target as u32;
        b.len = (ln + rn - target) as u32;
        self.shift_counts(parent, left, moved, 0);
    }

    /// [`Tree::rebalance_leaves`] for inner children.
    fn rebalance_inners(&mut self, parent: u32, left: usize) {
        let (l, r) = {
            let p = &self.inners[parent as usize];
            (p.children[left], p.children[left + 1])
        };
        let (a, b) = pair_mut(&mut self.inners, l as usize, r as usize);
        let (ln, rn) = (a.len as usize, b.len as usize);
        if ln + rn <= self.caps.inner {
            a.copy_from(ln, b, 0, rn);
            a.len = (ln + rn) as u32;
            self.release_inner(r);
            self.merge_counts(parent, left, 1);
            return;
        }
        let target = (ln + rn) / 2;
        let moved = if ln < target {
            let k = target - ln;
            a.copy_from(ln, b, 0, k);
            let moved: usize = b.counts[..k].iter().map(|&c| c as usize).sum();
            b.shift(k, 0, rn);
            moved as i64
        } else {
            let k = ln - target;
            b.shift(0, k, rn);
            b.copy_from(0, a, target, k);
            let moved: usize = a.counts[target..ln].iter().map(|&c| c as usize).sum();
            -(moved as i64)
        };
        a.len = target as u32;
        b.len = (ln + rn - target) as u32;
        self.shift_counts(parent, left, moved, 1);
    }

    /// After merging child `left + 1` of `parent` into child `left` (nodes at `height`).
    fn merge_counts(&mut self, parent: u32, left: usize, height: u32) {
        let child = self.inners[parent as usize].children[left];
        let min = self.node_min(child, height);
        let p = &mut self.inners[parent as usize];
        p.counts[left] += p.counts[left + 1];
        p.cut(left + 1);
        if min.1 != NONE {
            (p.min_scores[left], p.min_ids[left]) = min;
        }
    }

    /// After moving `moved` entries from child `left + 1` to child `left` (negative: the other way).
    fn shift_counts(&mut self, parent: u32, left: usize, moved: i64, height: u32) {
        let (l, r) = {
            let p = &self.inners[parent as usize];
            (p.children[left], p.children[left + 1])
        };
        let (l_min, r_min) = (self.node_min(l, height), self.node_min(r, height));
        let p = &mut self.inners[parent as usize];
        p.counts[left] = (i64::from(p.counts[left]) + moved) as u32;
        p.counts[left + 1] = (i64::from(p.counts[left + 1]) - moved) as u32;
        (p.min_scores[left], p.min_ids[left]) = l_min;
        (p.min_scores[left + 1], p.min_ids[left + 1]) = r_min;
    }

    /// Replaces a root with a single child by that child, repeatedly.
    fn collapse_root(&mut self) {
        while self.height > 0 && self.inners[self.root as usize].len == 1 {
            let child = self.inners[self.root as usize].children[0];
            self.release_inner(self.root);
            self.root = child;
            self.height -= 1;
        }
    }

    #[cfg(test)]
    pub(super) fn height(&self) -> u32 {
        self.height
    }

    /// Leaves in use (tests only).
    #[cfg(test)]
    pub(super) fn leaf_count(&self) -> usize {
        let mut count = 0;
        let mut leaf = self.cursor(0).0;
        while let Some(node) = self.leaves.get(leaf as usize) {
            count += 1;
            leaf = node.next;
        }
        count
    }

    /// Checks every structural invariant (tests only).
    #[cfg(test)]
    pub(super) fn check(&self) {
        let mut order = Vec::new();
        let total = self.check_node(self.root, self.height, true, &mut order);
        assert_eq!(total, self.len, "len");
        assert_eq!(order.len(), self.len);
        for pair in order.windows(2) {
            let ((s1, id1), (s2, id2)) = (pair[0], pair[1]);
            assert!(self.key_lt(s1, id1, s2, id2), "order");
        }
        // The leaf chain visits the same slots in both directions.
        let forward: Vec<_> = (0..self.len)
            .map(|r| self.get(r).map(|(m, s)| (m.to_vec(), s)))
            .collect();
        let mut cursor = self.cursor(0);
        for expected in &forward {
            let got = self.step_forward(&mut cursor).map(|(m, s)| (m.to_vec(), s));
            assert_eq!(&got, expected, "forward chain");
        }
        if self.len > 0 {
            let mut back = self.cursor_after(self.len - 1);
            for expected in forward.iter().rev() {
                let got = self.step_back(&mut back).map(|(m, s)| (m.to_vec(), s));
                assert_eq!(&got, expected, "backward chain");
            }
            assert!(self.step_back(&mut back).is_none());
        }
        for &(score, id) in &order {
            let entry = &self.entries[id as usize];
            assert!(!matches!(entry.key, Key::Vacant { .. }));
            assert_eq!(entry.score.to_bits(), score.to_bits(), "arena score");
            assert_eq!(self.lookup(entry.key.bytes()), Some(id), "index");
        }
        assert_eq!(self.index.len(), self.len, "index size");
        let mut free = 0;
        let mut at = self.free_entry;
        while at != NONE {
            match self.entries[at as usize].key {
                Key::Vacant { next_free } => at = next_free,
                _ => panic!("live slot on the free list"),
            }
            free += 1;
        }
        assert_eq!(free + self.len, self.entries.len(), "free list");
    }

    #[cfg(test)]
    fn check_node(
        &self,
        node: u32,
        height: u32,
        is_root: bool,
        order: &mut Vec<(f64, u32)>,
    ) -> usize {
        if height == 0 {
            let leaf = &self.leaves[node as usize];
            assert!(is_root || leaf.len > 0, "empty leaf");
            assert!(leaf.len as usize <= self.caps.leaf);
            for j in 0..leaf.len as usize {
                order.push((leaf.scores[j], leaf.ids[j]));
            }
            return leaf.len as usize;
        }
        let inner = &self.inners[node as usize];
        assert!(inner.len >= 2, "inner with one child");
        assert!(inner.len as usize <= self.caps.inner);
        let mut total = 0;
        for j in 0..inner.len as usize {
            let child = inner.children[j];
            let first = order.len();
            let count = self.check_node(child, height - 1, false, order);
            assert_eq!(count, inner.counts[j] as usize, "count");
            let min = order[first];
            assert_eq!(
                (min.0.to_bits(), min.1),
                (inner.min_scores[j].to_bits(), inner.min_ids[j]),
                "min"
            );
            total += count;
        }
        total
    }
}

#[cfg(test)]
mod chunked_tests {
    use super::Chunked;

    #[test]
    fn chunks_index_grow_and_pair() {
        let mut chunked: Chunked<u32, 2> = Chunked::from_vec((0..10).collect());
        assert_eq!(chunked.len(), 10);
        assert_eq!(chunked.chunks.len(), 3);
        for i in 10..40 {
            chunked.push(i);
        }
        assert!(chunked.chunks.iter().all(|c| c.len() <= 4));
        assert_eq!(
            chunked.iter().copied().collect::<Vec<_>>(),
            (0..40).collect::<Vec<_>>()
        );
        assert_eq!(
            (chunked[17], chunked.get(39), chunked.get(40)),
            (17, Some(&39), None)
        );
        for (a, b) in [(0, 1), (1, 0), (3, 4), (9, 2), (38, 39)] {
            let (x, y) = chunked.pair_mut(a, b);
            assert_eq!((*x, *y), (a as u32, b as u32));
        }
        let mut small: Chunked<u32, 4> = Chunked::from_vec(vec![7]);
        for i in 0..40 {
            small.push(i);
        }
        assert_eq!(small.chunks[0].capacity(), 16);
        assert_eq!((small.len(), small[0], small[40]), (41, 7, 39));
        if let Some(x) = small.get_mut(40) {
            *x = 1;
        }
        assert_eq!(small[40], 1);
    }
}
