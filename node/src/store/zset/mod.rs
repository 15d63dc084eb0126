//! Sorted sets (ZSET) with Redis 7.0 semantics: a deterministic, compact order-statistic structure.
//!
//! Members are byte strings, scores `f64` (never NaN). The order is by score, then by member bytes
//! (memcmp), as Redis; -0 is stored as 0 (see [`SortedSet::insert`]).
//!
//! # Representations
//! - **small** (at most [`SMALL_MAX`] members): one `Vec` of 32-byte entries sorted by (score,
//!   member); operations scan or shift at most 128 entries, like Redis's listpack encoding.
//! - **large**: a member arena (32-byte entries in 32 KiB chunks; members up to 22 bytes inline,
//!   longer ones boxed), a hash index member → arena slot (a `u32` a table slot, fixed-seed
//!   foldhash) and a counted B+tree of (score, slot) whose inner nodes keep each child's entry count
//!   and minimum key (see `tree.rs`).
//!   A set turns large when it grows past 128 members and small again when it shrinks to 64.
//!
//! Every answer is a function of the ordered contents alone — never of the representation, of the
//! tree's shape or of hash layout — so replicas agree even when one restored the same contents from a
//! snapshot into a differently shaped tree. (That is why lex ranges over members whose scores differ,
//! which Redis leaves to the caller's contract, use a canonical binary search over ranks here.)
//!
//! # Complexity (n members, m returned or removed; small sets are O(n) with n ≤ 128)
//! | operation | cost |
//! | --- | --- |
//! | [`score`](SortedSet::score), [`contains`](SortedSet::contains) | O(1) |
//! | [`insert`](SortedSet::insert), [`remove`](SortedSet::remove) | O(log n) |
//! | [`rank`](SortedSet::rank), [`nth`](SortedSet::nth) | O(log n) |
//! | [`range_by_rank`](SortedSet::range_by_rank), [`range_by_score`](SortedSet::range_by_score) (any offset) | O(log n + m) |
//! | [`range_by_lex`](SortedSet::range_by_lex) | O(log n + m); O(log² n + m) when scores differ (outside Redis's contract) |
//! | [`count_by_score`](SortedSet::count_by_score), [`count_by_lex`](SortedSet::count_by_lex) | O(log n) (lex: O(log² n) when scores differ) |
//! | [`pop`](SortedSet::pop), `remove_range_by_*` | O(log n + m) |
//! | [`iter`](SortedSet::iter) | O(log n) to start, O(1) a step |
//!
//! # Memory
//! A large set costs about 56–61 bytes a member for members up to 22 bytes (arena 32, leaf slot
//! 12 at 70–100 % fill, hash slot 5–10): measured RSS growth for 1M `member:N` members is 55–61
//! bytes a member with glibc malloc and 60–65 with mimalloc (75–88 with mimalloc's default
//! transparent huge pages), against 110 (used_memory) / 116–119 (RSS) in redis-server 7.0.15.
//! Nothing grows by reallocating a large buffer except the hash index, which rehashes all members
//! at once when it grows (amortized O(1), as the keyspace's own index).
//! [`SortedSet::estimated_size`] is the deterministic estimate for accounting.

mod text;
mod tree;

#[cfg(test)]
mod tests;

use std::fmt;
use std::mem;

pub use text::{append_score, format_score, parse_lex_bound, parse_score, parse_score_bound};
use tree::Tree;

/// Most members the small representation holds (Redis's `zset-max-listpack-entries` default).
pub const SMALL_MAX: usize = 128;
/// A large set shrinking to this many members turns small again (hysteresis against flapping).
const SMALL_MIN: usize = 64;
/// Most members a set holds: arena slots are `u32` and `u32::MAX` marks "none". Unreachable in
/// practice (that is ~250 GB); inserts beyond it answer [`InsertOutcome::Rejected`].
pub const MAX_LEN: usize = u32::MAX as usize - 1;
/// Member bytes stored inline in an entry; longer members get their own allocation.
const INLINE_CAP: usize = 22;

/// Deterministic memory estimate: fixed part, per-member cost by representation, plus the heap
/// copies of members longer than [`INLINE_CAP`] (see [`heap_cost`]). The large-set figure is the
/// measured footprint above (56–65 bytes a member, glibc and mimalloc without huge pages).
const BASE_BYTES: u64 = 48;
const SMALL_ENTRY_BYTES: u64 = 40;
const LARGE_BASE_BYTES: u64 = 2048;
const LARGE_ENTRY_BYTES: u64 = 60;

/// What [`SortedSet::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InsertOutcome {
    /// The member was new.
    Added,
    /// The member existed with a different score, now replaced.
    Updated { old: f64 },
    /// The member existed with an equal score (`==`, so 0 and -0 are equal); nothing changed.
    Unchanged,
    /// Nothing changed: the score was NaN, or the set already holds [`MAX_LEN`] members.
    Rejected,
}

/// A score range bound; `-inf`/`+inf` are `Inclusive(f64::NEG_INFINITY)`/`Inclusive(f64::INFINITY)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ScoreBound {
    Inclusive(f64),
    Exclusive(f64),
}

impl ScoreBound {
    /// Whether `score` is at or above this bound used as a minimum.
    fn admits_as_min(self, score: f64) -> bool {
        match self {
            ScoreBound::Inclusive(min) => score >= min,
            ScoreBound::Exclusive(min) => score > min,
        }
    }

    /// Whether `score` is at or below this bound used as a maximum.
    fn admits_as_max(self, score: f64) -> bool {
        match self {
            ScoreBound::Inclusive(max) => score <= max,
            ScoreBound::Exclusive(max) => score < max,
        }
    }
}

/// A lex range bound: `-` ([`LexBound::Min`], below every member), `+` ([`LexBound::Max`]),
/// `[member`, `(member`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LexBound {
    Min,
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

impl LexBound {
    fn admits_as_min(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(min) => member >= min.as_slice(),
            LexBound::Exclusive(min) => member > min.as_slice(),
        }
    }

    fn admits_as_max(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(max) => member <= max.as_slice(),
            LexBound::Exclusive(max) => member < max.as_slice(),
        }
    }

    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// Redis's `zslIsInLexRange` first test: ranges that are empty whatever the set holds
/// (min above max, or equal with an exclusive end; `-`/`+` count as exclusive).
fn lex_range_is_void(min: &LexBound, max: &LexBound) -> bool {
    use LexBound::{Max, Min};
    use std::cmp::Ordering;
    let order = match (min, max) {
        (Min, Min) | (Max, Max) => Ordering::Equal,
        (Min, _) | (_, Max) => Ordering::Less,
        (Max, _) | (_, Min) => Ordering::Greater,
        (
            LexBound::Inclusive(a) | LexBound::Exclusive(a),
            LexBound::Inclusive(b) | LexBound::Exclusive(b),
        ) => a.cmp(b),
    };
    order == Ordering::Greater
        || (order == Ordering::Equal && (min.is_exclusive() || max.is_exclusive()))
}

/// Resolves Redis `start`/`stop` rank arguments (negative counts from the end) against `len`, as
/// `ZRANGE`/`ZREMRANGEBYRANK` do: `None` when the range is empty, else inclusive `(start, stop)` with
/// `stop < len`. Pass the result to [`SortedSet::range_by_rank`] or
/// [`SortedSet::remove_range_by_rank`].
pub fn resolve_index_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i128;
    let (mut start, mut stop) = (i128::from(start), i128::from(stop));
    if start < 0 {
        start += len;
    }
    if stop < 0 {
        stop += len;
    }
    start = start.max(0);
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// A member's bytes: inline up to [`INLINE_CAP`] (no allocation, the common case), else boxed.
/// `Vacant` marks a free arena slot and links the free list. 24 bytes.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
    Vacant { next_free: u32 },
}

impl Key {
    fn new(member: &[u8]) -> Key {
        if member.len() <= INLINE_CAP {
            let mut bytes = [0; INLINE_CAP];
            bytes[..member.len()].copy_from_slice(member);
            Key::Inline {
                len: member.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(member.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(&[]),
            Key::Heap(bytes) => bytes,
            Key::Vacant { .. } => &[],
        }
    }

    fn into_vec(self) -> Vec<u8> {
        match self {
            Key::Heap(bytes) => bytes.into_vec(),
            other => other.bytes().to_vec(),
        }
    }
}

/// One member and its score: an element of the small vector or of the large arena. 32 bytes.
#[derive(Clone)]
struct Entry {
    key: Key,
    score: f64,
}

/// Deterministic allocation cost of a member's bytes outside its entry (allocator rounding and
/// header included, approximately).
fn heap_cost(len: usize) -> u64 {
    if len <= INLINE_CAP {
        0
    } else {
        (len as u64 + 8).div_ceil(16) * 16
    }
}

/// Number of leading positions in `0..n` for which `pred` holds, by binary search. `pred` should
/// hold on a prefix; when it does not, the result is still a fixed function of the answers (this
/// exact probe sequence is part of the replicated semantics of lex ranges over unequal scores).
fn prefix_len(n: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Position of the first entry not below (score, member) in a sorted small vector.
fn small_position(entries: &[Entry], score: f64, member: &[u8]) -> usize {
    prefix_len(entries.len(), |j| {
        let e = &entries[j];
        e.score < score || (e.score == score && e.key.bytes() < member)
    })
}

fn small_find(entries: &[Entry], member: &[u8]) -> Option<usize> {
    entries.iter().position(|e| e.key.bytes() == member)
}

#[derive(Clone)]
enum Repr {
    Small(Vec<Entry>),
    Large(Box<Tree>),
}

/// A sorted set. See the module documentation for representation, complexity and memory.
#[derive(Clone)]
pub struct SortedSet {
    repr: Repr,
    /// Sum of [`heap_cost`] over the members, kept for [`SortedSet::estimated_size`].
    heap_bytes: u64,
}

impl Default for SortedSet {
    fn default() -> Self {
        SortedSet::new()
    }
}

impl fmt::Debug for SortedSet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_map()
            .entries(
                self.iter()
                    .map(|(member, score)| (String::from_utf8_lossy(member), score)),
            )
            .finish()
    }
}

/// Equal contents: the same members with the same scores (representation does not matter).
impl PartialEq for SortedSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl SortedSet {
    /// An empty set; allocates nothing until the first insert.
    pub fn new() -> Self {
        SortedSet {
            repr: Repr::Small(Vec::new()),
            heap_bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(entries) => entries.len(),
            Repr::Large(tree) => tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The member's score (ZSCORE). O(1).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(entries) => small_find(entries, member).map(|i| entries[i].score),
            Repr::Large(tree) => tree.score(member),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Adds `member` or changes its score (ZADD without flags; NX/XX/GT/LT/INCR are the caller's,
    /// with [`SortedSet::score`]). A score equal to the current one (`==`) changes nothing. -0 is
    /// stored as 0, as Redis's default (listpack) encoding does, so the stored value never depends
    /// on the encoding. NaN is rejected. O(log n).
    pub fn insert(&mut self, member: &[u8], score: f64) -> InsertOutcome {
        if score.is_nan() {
            return InsertOutcome::Rejected;
        }
        let score = if score == 0.0 { 0.0 } else { score };
        let outcome = match &mut self.repr {
            Repr::Small(entries) => {
                if let Some(pos) = small_find(entries, member) {
                    let old = entries[pos].score;
                    if old == score {
                        return InsertOutcome::Unchanged;
                    }
                    let entry = entries.remove(pos);
                    let at = small_position(entries, score, member);
                    entries.insert(
                        at,
                        Entry {
                            key: entry.key,
                            score,
                        },
                    );
                    return InsertOutcome::Updated { old };
                }
                if entries.len() < SMALL_MAX {
                    let at = small_position(entries, score, member);
                    entries.insert(
                        at,
                        Entry {
                            key: Key::new(member),
                            score,
                        },
                    );
                    InsertOutcome::Added
                } else {
                    let mut tree =
                        Box::new(Tree::from_sorted(mem::take(entries), Tree::DEFAULT_CAPS));
                    let outcome = tree.insert(member, score);
                    self.repr = Repr::Large(tree);
                    outcome
                }
            }
            Repr::Large(tree) => tree.insert(member, score),
        };
        if outcome == InsertOutcome::Added {
            self.heap_bytes += heap_cost(member.len());
        }
        outcome
    }

    /// Removes `member`, returning its score (ZREM). O(log n).
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (key, score) = match &mut self.repr {
            Repr::Small(entries) => {
                let entry = entries.remove(small_find(entries, member)?);
                (entry.key, entry.score)
            }
            Repr::Large(tree) => tree.remove(member)?,
        };
        self.heap_bytes = self.heap_bytes.saturating_sub(heap_cost(key.bytes().len()));
        self.after_removal();
        Some(score)
    }

    /// The member's 0-based rank in ascending order (ZRANK; ZREVRANK is `len - 1 - rank`). O(log n).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(entries) => small_find(entries, member),
            Repr::Large(tree) => tree.rank(member),
        }
    }

    /// The member at ascending rank `index` (ZRANDMEMBER picks with a caller-supplied random index).
    /// O(log n).
    pub fn nth(&self, index: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(entries) => entries.get(index).map(|e| (e.key.bytes(), e.score)),
            Repr::Large(tree) => tree.get(index),
        }
    }

    pub fn first(&self) -> Option<(&[u8], f64)> {
        self.nth(0)
    }

    pub fn last(&self) -> Option<(&[u8], f64)> {
        self.nth(self.len().checked_sub(1)?)
    }

    /// All members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.window(0, self.len(), false)
    }

    /// Members at ranks `start..=stop` (ZRANGE by index), both already resolved to non-negative
    /// ranks (see [`resolve_index_range`]); `stop` past the end is clamped. With `reverse`, ranks
    /// count from the highest member and the result is descending (ZREVRANGE / ZRANGE ... REV).
    pub fn range_by_rank(&self, start: usize, stop: usize, reverse: bool) -> Iter<'_> {
        let len = self.len();
        if start > stop || start >= len {
            return self.window(0, 0, reverse);
        }
        let stop = stop.min(len - 1);
        if reverse {
            self.window(len - 1 - stop, len - start, true)
        } else {
            self.window(start, stop + 1, false)
        }
    }

    /// Members with scores in `[min, max]` (ZRANGEBYSCORE), ascending, or descending with `reverse`
    /// (ZREVRANGEBYSCORE: the caller passes its `max min` arguments as `min, max`). `offset` and
    /// `limit` are LIMIT's (skip `offset` from the first member in order, then return at most
    /// `limit`; a caller maps a negative offset to an empty reply and a negative count to `None`).
    pub fn range_by_score(
        &self,
        min: ScoreBound,
        max: ScoreBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Iter<'_> {
        let (start, end) = self.score_window(min, max, reverse, offset, limit);
        self.window(start, end, reverse)
    }

    /// Members between `min` and `max` by member bytes (ZRANGEBYLEX; ZREVRANGEBYLEX with
    /// `reverse`, the caller swapping its `max min` arguments), with LIMIT's `offset`/`limit`.
    /// As in Redis, this assumes all scores are equal (the caller's contract); when they are not,
    /// the result follows Redis's algorithm over a canonical binary search, identical on every
    /// replica.
    pub fn range_by_lex(
        &self,
        min: &LexBound,
        max: &LexBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Iter<'_> {
        let (start, end) = self.lex_window(min, max, reverse, offset, limit);
        self.window(start, end, reverse)
    }

    /// Number of members with scores in `[min, max]` (ZCOUNT). O(log n).
    pub fn count_by_score(&self, min: ScoreBound, max: ScoreBound) -> usize {
        let below = self.partition_by_score(|s| !min.admits_as_min(s));
        let upto = self.partition_by_score(|s| max.admits_as_max(s));
        upto.saturating_sub(below)
    }

    /// Number of members between `min` and `max` by bytes (ZLEXCOUNT). O(log n) under Redis's
    /// equal-scores contract.
    pub fn count_by_lex(&self, min: &LexBound, max: &LexBound) -> usize {
        if !self.lex_range_possible(min, max) {
            return 0;
        }
        let first = self.partition_by_member(|m| !min.admits_as_min(m));
        if !self.nth(first).is_some_and(|(m, _)| max.admits_as_max(m)) {
            return 0;
        }
        let after_last = self.partition_by_member(|m| max.admits_as_max(m));
        let last_ok = after_last > 0
            && self
                .nth(after_last - 1)
                .is_some_and(|(m, _)| min.admits_as_min(m));
        if !last_ok {
            // Redis's ZLEXCOUNT counts to the end when it finds no last member (only possible
            // when scores differ).
            return self.len() - first;
        }
        after_last.saturating_sub(first)
    }

    /// Removes and returns up to `count` members with the lowest scores, ascending (ZPOPMIN), or
    /// with `max` the highest, descending (ZPOPMAX). O(log n + m).
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        let take = count.min(len);
        let start = if max { len - take } else { 0 };
        let mut popped = Vec::with_capacity(take);
        self.remove_window(start, start + take, Some(&mut popped));
        if max {
            popped.reverse();
        }
        popped
    }

    /// Removes the members at ranks `start..=stop` (ZREMRANGEBYRANK, after
    /// [`resolve_index_range`]); returns how many. O(log n + m).
    pub fn remove_range_by_rank(&mut self, start: usize, stop: usize) -> usize {
        let end = stop.saturating_add(1).min(self.len());
        self.remove_window(start, end, None)
    }

    /// Removes the members with scores in `[min, max]` (ZREMRANGEBYSCORE); returns how many.
    pub fn remove_range_by_score(&mut self, min: ScoreBound, max: ScoreBound) -> usize {
        let (start, end) = self.score_window(min, max, false, 0, None);
        self.remove_window(start, end, None)
    }

    /// Removes the members between `min` and `max` by bytes (ZREMRANGEBYLEX); returns how many.
    pub fn remove_range_by_lex(&mut self, min: &LexBound, max: &LexBound) -> usize {
        let (start, end) = self.lex_window(min, max, false, 0, None);
        self.remove_window(start, end, None)
    }

    /// A deterministic estimate of the set's memory in bytes: a function of the member count and
    /// member lengths only (not of history, capacity or allocator), so every replica computes the
    /// same; tracks the measured footprint of the large representation.
    pub fn estimated_size(&self) -> u64 {
        let len = self.len() as u64;
        let per_member = if self.len() <= SMALL_MAX {
            SMALL_ENTRY_BYTES
        } else {
            LARGE_ENTRY_BYTES
        };
        let large_base = if self.len() <= SMALL_MAX {
            0
        } else {
            LARGE_BASE_BYTES
        };
        BASE_BYTES + large_base + len * per_member + self.heap_bytes
    }

    /// Iterator over ascending ranks `start..end` (clamped), yielded descending when `reverse`.
    fn window(&self, start: usize, end: usize, reverse: bool) -> Iter<'_> {
        let end = end.min(self.len());
        let remaining = end.saturating_sub(start);
        let cursor = match &self.repr {
            Repr::Small(entries) => Cursor::Small {
                entries,
                front: start,
                back: end,
            },
            Repr::Large(tree) => {
                let (front, back) = if remaining == 0 {
                    (tree::NO_CURSOR, tree::NO_CURSOR)
                } else {
                    (tree.cursor(start), tree.cursor_after(end - 1))
                };
                Cursor::Large { tree, front, back }
            }
        };
        Iter {
            cursor,
            remaining,
            reverse,
        }
    }

    /// Number of leading members whose score satisfies `pred` (which must hold on a prefix).
    fn partition_by_score(&self, pred: impl Fn(f64) -> bool) -> usize {
        match &self.repr {
            Repr::Small(entries) => prefix_len(entries.len(), |j| pred(entries[j].score)),
            Repr::Large(tree) => tree.partition(|score, _| pred(score)),
        }
    }

    /// [`prefix_len`] over ranks with `pred` on members. Under equal scores members ascend, `pred`
    /// holds on a prefix, and the tree's descent finds the same unique point in O(log n);
    /// otherwise the canonical rank-space binary search (O(log² n)) keeps replicas identical.
    fn partition_by_member(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Small(entries) => prefix_len(entries.len(), |j| pred(entries[j].key.bytes())),
            Repr::Large(tree) if self.scores_all_equal() => {
                tree.partition(|_, id| pred(tree.member(id)))
            }
            Repr::Large(tree) => prefix_len(tree.len(), |rank| {
                tree.get(rank).is_some_and(|(m, _)| pred(m))
            }),
        }
    }

    fn scores_all_equal(&self) -> bool {
        match (self.first(), self.last()) {
            (Some((_, low)), Some((_, high))) => low == high,
            _ => true,
        }
    }

    /// Ascending rank window `start..end` selected by a score range with LIMIT, as Redis walks it.
    fn score_window(
        &self,
        min: ScoreBound,
        max: ScoreBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> (usize, usize) {
        let limit = limit.unwrap_or(usize::MAX);
        let below = self.partition_by_score(|s| !min.admits_as_min(s));
        let upto = self.partition_by_score(|s| max.admits_as_max(s));
        if upto <= below {
            return (0, 0);
        }
        if reverse {
            let top = upto.saturating_sub(offset);
            (below.max(top.saturating_sub(limit)), top)
        } else {
            let start = below.saturating_add(offset);
            (start, upto.min(start.saturating_add(limit)))
        }
    }

    /// Redis's `zslIsInLexRange`: the range is not void and overlaps the set's first/last members.
    fn lex_range_possible(&self, min: &LexBound, max: &LexBound) -> bool {
        match (self.first(), self.last()) {
            (Some((first, _)), Some((last, _))) => {
                !lex_range_is_void(min, max) && min.admits_as_min(last) && max.admits_as_max(first)
            }
            _ => false,
        }
    }

    /// Ascending rank window selected by a lex range with LIMIT, following Redis's
    /// `genericZrangebylexCommand`: find the first (last, reversed) member in range, skip `offset`
    /// members, then take members while they stay within the far bound, at most `limit`.
    fn lex_window(
        &self,
        min: &LexBound,
        max: &LexBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> (usize, usize) {
        let limit = limit.unwrap_or(usize::MAX);
        let len = self.len();
        if limit == 0 || !self.lex_range_possible(min, max) {
            return (0, 0);
        }
        let monotone = self.scores_all_equal();
        if reverse {
            let after_last = self.partition_by_member(|m| max.admits_as_max(m));
            if after_last == 0
                || !self
                    .nth(after_last - 1)
                    .is_some_and(|(m, _)| min.admits_as_min(m))
            {
                return (0, 0);
            }
            let top = after_last.saturating_sub(offset);
            let taken = if monotone {
                let below = self.partition_by_member(|m| !min.admits_as_min(m));
                top.saturating_sub(below).min(limit)
            } else {
                let walk = self.window(0, top, true).take(limit);
                walk.take_while(|(m, _)| min.admits_as_min(m)).count()
            };
            (top - taken, top)
        } else {
            let first = self.partition_by_member(|m| !min.admits_as_min(m));
            if !self.nth(first).is_some_and(|(m, _)| max.admits_as_max(m)) {
                return (0, 0);
            }
            let start = first.saturating_add(offset);
            if start >= len {
                return (0, 0);
            }
            let taken = if monotone {
                let upto = self.partition_by_member(|m| max.admits_as_max(m));
                upto.saturating_sub(start).min(limit)
            } else {
                let walk = self.window(start, len, false).take(limit);
                walk.take_while(|(m, _)| max.admits_as_max(m)).count()
            };
            (start, start + taken)
        }
    }

    /// Removes ascending ranks `start..end` (clamped), handing each removed member to `popped` when
    /// given; returns how many were removed.
    fn remove_window(
        &mut self,
        start: usize,
        end: usize,
        mut popped: Option<&mut Vec<(Vec<u8>, f64)>>,
    ) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        let mut freed = 0u64;
        let mut take = |key: Key, score: f64| {
            freed += heap_cost(key.bytes().len());
            if let Some(out) = popped.as_deref_mut() {
                out.push((key.into_vec(), score));
            }
        };
        let removed = match &mut self.repr {
            Repr::Small(entries) => {
                for entry in entries.drain(start..end) {
                    take(entry.key, entry.score);
                }
                end - start
            }
            Repr::Large(tree) => tree.remove_window(start, end - start, take),
        };
        self.heap_bytes = self.heap_bytes.saturating_sub(freed);
        self.after_removal();
        removed
    }

    /// Keeps memory proportional to the contents after removals: a large set down to
    /// [`SMALL_MIN`] members turns small; one whose arena is three-quarters free slots is rebuilt
    /// compactly (O(n) after Ω(n) removals, so amortized O(1)); a small vector sheds spare capacity.
    fn after_removal(&mut self) {
        let (to_small, compact) = match &mut self.repr {
            Repr::Large(tree) => (
                tree.len() <= SMALL_MIN && !tree.keeps_large(),
                tree.arena_len() >= 64 && tree.arena_len() / 4 >= tree.len(),
            ),
            Repr::Small(entries) => {
                if entries.capacity() >= 4 * entries.len().max(4) {
                    entries.shrink_to(entries.len() * 2);
                }
                return;
            }
        };
        if !(to_small || compact) {
            return;
        }
        if let Repr::Large(tree) = mem::replace(&mut self.repr, Repr::Small(Vec::new())) {
            let caps = tree.caps();
            let sorted = (*tree).into_sorted();
            self.repr = if to_small {
                Repr::Small(sorted)
            } else {
                Repr::Large(Box::new(Tree::from_sorted(sorted, caps)))
            };
        }
    }

    #[cfg(test)]
    fn new_large_for_test(caps: tree::Caps) -> Self {
        SortedSet {
            repr: Repr::Large(Box::new(Tree::from_sorted(Vec::new(), caps))),
            heap_bytes: 0,
        }
    }

    #[cfg(test)]
    fn height(&self) -> u32 {
        match &self.repr {
            Repr::Small(_) => 0,
            Repr::Large(tree) => tree.height() + 1,
        }
    }

    #[cfg(test)]
    fn is_large(&self) -> bool {
        matches!(self.repr, Repr::Large(_))
    }

    /// Checks every internal invariant (tests only).
    #[cfg(test)]
    fn check(&self) {
        let heap: u64 = self.iter().map(|(m, _)| heap_cost(m.len())).sum();
        assert_eq!(heap, self.heap_bytes, "heap byte accounting");
        match &self.repr {
            Repr::Small(entries) => {
                for pair in entries.windows(2) {
                    let (a, b) = (&pair[0], &pair[1]);
                    assert!(
                        a.score < b.score || (a.score == b.score && a.key.bytes() < b.key.bytes())
                    );
                }
                assert!(entries.len() <= SMALL_MAX);
            }
            Repr::Large(tree) => tree.check(),
        }
    }
}

/// Members in rank order: ascending, or descending for reverse ranges. Double-ended (the other
/// direction) and exact-size.
pub struct Iter<'a> {
    cursor: Cursor<'a>,
    remaining: usize,
    reverse: bool,
}

enum Cursor<'a> {
    /// `front` is the next index, `back` one past the last.
    Small {
        entries: &'a [Entry],
        front: usize,
        back: usize,
    },
    /// Leaf positions; see [`Tree::step_forward`] and [`Tree::step_back`].
    Large {
        tree: &'a Tree,
        front: (u32, usize),
        back: (u32, usize),
    },
}

impl<'a> Cursor<'a> {
    fn take_front(&mut self) -> Option<(&'a [u8], f64)> {
        match self {
            Cursor::Small { entries, front, .. } => {
                let entry = entries.get(*front)?;
                *front += 1;
                Some((entry.key.bytes(), entry.score))
            }
            Cursor::Large { tree, front, .. } => tree.step_forward(front),
        }
    }

    fn take_back(&mut self) -> Option<(&'a [u8], f64)> {
        match self {
            Cursor::Small { entries, back, .. } => {
                *back = back.checked_sub(1)?;
                let entry = entries.get(*back)?;
                Some((entry.key.bytes(), entry.score))
            }
            Cursor::Large { tree, back, .. } => tree.step_back(back),
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        if self.reverse {
            self.cursor.take_back()
        } else {
            self.cursor.take_front()
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        if self.reverse {
            self.cursor.take_front()
        } else {
            self.cursor.take_back()
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}
