//! [`Store`]: the keyspace of one partition, a deterministic state machine.

use std::hash::BuildHasher;
use std::sync::LazyLock;

use bytes::Bytes;
use hashbrown::HashTable;

use super::entry::Entry;
#[cfg(test)]
use super::entry::estimated_size;
use super::op::{
    DeleteReason, ExpireCondition, SetCondition, SetExpiry, StoreError, WriteKind, WriteOp,
    WriteOutcome,
};
use super::types::{Kind, Object, ValueType, WrongType};
use crate::eviction::SampleRng;

/// Largest string value, as Redis's `proto-max-bulk-len`.
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;

/// A fixed-seed hasher: the table layout (and so sampling and iteration order) is a pure function of
/// the operation sequence, which keeps eviction decisions reproducible.
static HASHER: LazyLock<foldhash::fast::FixedState> =
    LazyLock::new(|| foldhash::fast::FixedState::with_seed(0x7269_6e67_6361_6368));

fn hash(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// Entries live in a dense vector (so random sampling for eviction and cursor-based SCAN are O(1) per
/// step) and a hash index maps each key to its position (4 bytes per slot). Deleting swaps the last
/// entry into the hole.
#[derive(Debug, Default)]
pub struct Store {
    index: HashTable<u32>,
    entries: Vec<Entry>,
    used_memory: u64,
    volatile_keys: usize,
    expired_keys: u64,
    evicted_keys: u64,
    sweep_cursor: usize,
    /// Replicated mode: reads only hide expired keys and never delete them, because a replica's
    /// clock must not change its state (the partition leader proposes expiry deletes instead).
    keep_expired_on_read: bool,
    /// An LFU eviction policy: accesses count frequency (see `crate::eviction::lfu_access`).
    lfu: Option<SampleRng>,
    /// The latest clock an operation brought, for the LFU minute of keys created.
    clock_ms: u64,
}

/// What [`Store::keyspace_summary`] reports for INFO's keyspace section.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyspaceSummary {
    pub keys: u64,
    pub volatile_keys: u64,
    /// Sum of the remaining time to live of the volatile keys, in milliseconds.
    pub ttl_sum_ms: u64,
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// Deterministic memory estimate of the data held.
    pub fn used_memory(&self) -> u64 {
        self.used_memory
    }

    /// Entries held, including logically expired ones not deleted yet.
    pub fn stored_len(&self) -> usize {
        self.entries.len()
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile_keys
    }

    pub fn expired_keys(&self) -> u64 {
        self.expired_keys
    }

    pub fn evicted_keys(&self) -> u64 {
        self.evicted_keys
    }

    fn find(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash(key), |&position| {
                entries[position as usize].key() == key
            })
            .map(|&p| p as usize)
    }

    fn account_added(&mut self, entry: &Entry) {
        self.used_memory += entry.estimated_size();
        if entry.has_expiry() {
            self.volatile_keys += 1;
        }
    }

    fn account_removed(&mut self, entry: &Entry) {
        self.used_memory -= entry.estimated_size();
        if entry.has_expiry() {
            self.volatile_keys -= 1;
        }
    }

    fn insert_new(&mut self, mut entry: Entry) {
        if self.lfu.is_some() {
            entry.set_access_field(crate::eviction::lfu_new(self.clock_ms));
        }
        self.account_added(&entry);
        let position = self.entries.len() as u32;
        let key_hash = hash(entry.key());
        self.entries.push(entry);
        let entries = &self.entries;
        self.index
            .insert_unique(key_hash, position, |&p| hash(entries[p as usize].key()));
    }

    fn replace_at(&mut self, position: usize, entry: Entry) {
        self.account_added(&entry);
        let old = std::mem::replace(&mut self.entries[position], entry);
        self.account_removed(&old);
    }

    fn remove_at(&mut self, position: usize) -> Entry {
        let key_hash = hash(self.entries[position].key());
        if let Ok(slot) = self.index.find_entry(key_hash, |&p| p as usize == position) {
            slot.remove();
        }
        let last = self.entries.len() - 1;
        if position != last {
            let last_hash = hash(self.entries[last].key());
            if let Some(slot) = self.index.find_mut(last_hash, |&p| p as usize == last) {
                *slot = position as u32;
            }
        }
        let entry = self.entries.swap_remove(position);
        self.account_removed(&entry);
        entry
    }

    fn set_expiry_at(&mut self, position: usize, expire_at_ms: u64) {
        let entry = &mut self.entries[position];
        let had = entry.has_expiry();
        entry.set_expire_at_ms(expire_at_ms);
        match (had, expire_at_ms != 0) {
            (false, true) => self.volatile_keys += 1,
            (true, false) => self.volatile_keys -= 1,
            _ => {}
        }
    }

    /// Deletes `key` if it is logically expired at `now_ms`. This is the lazy half of expiry; it is an
    /// explicit delete decided by the clock owner, like every other expiry.
    pub fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.find(key) {
            Some(position) if self.entries[position].is_expired(now_ms) => {
                self.remove_at(position);
                self.expired_keys += 1;
                true
            }
            _ => false,
        }
    }

    /// Position of `key` if it is live; an expired key is deleted on the way (one hash lookup).
    fn find_live(&mut self, key: &[u8], now_ms: u64) -> Option<usize> {
        let position = self.find(key)?;
        if self.entries[position].is_expired(now_ms) {
            self.remove_at(position);
            self.expired_keys += 1;
            return None;
        }
        Some(position)
    }

    /// Replicated mode: see the field of the same name.
    pub fn set_keep_expired_on_read(&mut self, keep: bool) {
        self.keep_expired_on_read = keep;
    }

    /// Reads a live key and records the access for LRU eviction.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let position = if self.keep_expired_on_read {
            self.find(key)
                .filter(|&position| !self.entries[position].is_expired(now_ms))?
        } else {
            self.find_live(key, now_ms)?
        };
        self.record_access(position, now_ms);
        Some(&self.entries[position])
    }

    /// Records an access to the entry at `position`: its time, or under an LFU policy its
    /// frequency.
    fn record_access(&mut self, position: usize, now_ms: u64) {
        self.clock_ms = self.clock_ms.max(now_ms);
        let entry = &mut self.entries[position];
        match &mut self.lfu {
            Some(rng) => {
                let field = crate::eviction::lfu_access(entry.access_ms(), now_ms, rng);
                entry.set_access_field(field);
            }
            None => entry.touch(now_ms),
        }
    }

    /// Switches between access times (LRU) and frequencies (LFU); existing keys keep their field
    /// and adjust over time, as in Redis.
    pub fn set_lfu(&mut self, lfu: bool) {
        if lfu != self.lfu.is_some() {
            self.lfu = lfu.then(|| SampleRng::new(0x1f_u64 ^ self.entries.len() as u64));
        }
    }

    /// Reads a live key without recording an access.
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.find(key)
            .map(|position| &self.entries[position])
            .filter(|entry| !entry.is_expired(now_ms))
    }

    /// Applies one write. Either the whole operation takes effect or, on error, nothing does.
    pub fn apply(&mut self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        let now = op.now_ms;
        self.clock_ms = self.clock_ms.max(now);
        match op.kind {
            WriteKind::Set {
                key,
                value,
                expiry,
                condition,
                return_old,
            } => {
                let existing = self.find_live(&key, now);
                let old = match (return_old, existing) {
                    (true, Some(position)) => {
                        Some(Bytes::copy_from_slice(self.entries[position].string()?))
                    }
                    _ => None,
                };
                let allowed = match condition {
                    SetCondition::Always => true,
                    SetCondition::IfAbsent => existing.is_none(),
                    SetCondition::IfPresent => existing.is_some(),
                };
                if !allowed {
                    return Ok(WriteOutcome::Set {
                        written: false,
                        old,
                    });
                }
                let expire_at = match expiry {
                    SetExpiry::Clear => 0,
                    SetExpiry::Keep => existing.map_or(0, |p| self.entries[p].expire_at_ms()),
                    SetExpiry::At(at) => at,
                };
                if expire_at != 0 && expire_at <= now {
                    // Already expired when written: the net effect is that the key is gone.
                    if let Some(position) = existing {
                        self.remove_at(position);
                    }
                    return Ok(WriteOutcome::Set { written: true, old });
                }
                let entry = Entry::new(&key, &value, expire_at, now);
                match existing {
                    Some(position) => self.replace_at(position, entry),
                    None => self.insert_new(entry),
                }
                Ok(WriteOutcome::Set { written: true, old })
            }
            WriteKind::Delete { key, reason } => {
                let Some(position) = self.find(&key) else {
                    return Ok(WriteOutcome::Deleted(None));
                };
                let entry = self.remove_at(position);
                match reason {
                    DeleteReason::Evicted => self.evicted_keys += 1,
                    DeleteReason::Expired => self.expired_keys += 1,
                    DeleteReason::Command if entry.is_expired(now) => {
                        self.expired_keys += 1;
                        return Ok(WriteOutcome::Deleted(None));
                    }
                    DeleteReason::Command => {}
                }
                Ok(WriteOutcome::Deleted(Some(entry)))
            }
            WriteKind::Expire {
                key,
                at_ms,
                condition,
            } => {
                let Some(position) = self.find_live(&key, now) else {
                    return Ok(WriteOutcome::ExpireUpdated(false));
                };
                let current = self.entries[position].expire_at_ms();
                let allowed = match condition {
                    ExpireCondition::Always => true,
                    ExpireCondition::Nx => current == 0,
                    ExpireCondition::Xx => current != 0,
                    ExpireCondition::Gt => current != 0 && at_ms > current,
                    ExpireCondition::Lt => current == 0 || at_ms < current,
                    ExpireCondition::XxLt => current != 0 && at_ms < current,
                };
                if !allowed || (at_ms == 0 && current == 0) {
                    return Ok(WriteOutcome::ExpireUpdated(false));
                }
                if at_ms != 0 && at_ms <= now {
                    self.remove_at(position);
                } else {
                    self.set_expiry_at(position, at_ms);
                }
                Ok(WriteOutcome::ExpireUpdated(true))
            }
            WriteKind::Append { key, suffix } => match self.find_live(&key, now) {
                None => {
                    if suffix.len() > MAX_STRING_LEN {
                        return Err(StoreError::TooLarge);
                    }
                    self.insert_new(Entry::new(&key, &suffix, 0, now));
                    Ok(WriteOutcome::Length(suffix.len()))
                }
                Some(position) => {
                    let current = &self.entries[position];
                    let length = current.string()?.len() + suffix.len();
                    if length > MAX_STRING_LEN {
                        return Err(StoreError::TooLarge);
                    }
                    let entry = Entry::from_parts(
                        &key,
                        &[current.value(), &suffix],
                        current.expire_at_ms(),
                        now,
                    );
                    self.replace_at(position, entry);
                    Ok(WriteOutcome::Length(length))
                }
            },
            WriteKind::IncrBy { key, delta } => {
                let existing = self.find_live(&key, now);
                let (current, expire_at) = match existing {
                    Some(position) => {
                        let entry = &self.entries[position];
                        (
                            parse_integer(entry.string()?).ok_or(StoreError::NotInteger)?,
                            entry.expire_at_ms(),
                        )
                    }
                    None => (0, 0),
                };
                let updated = current.checked_add(delta).ok_or(StoreError::Overflow)?;
                let mut digits = itoa::Buffer::new();
                let entry = Entry::new(&key, digits.format(updated).as_bytes(), expire_at, now);
                match existing {
                    Some(position) => self.replace_at(position, entry),
                    None => self.insert_new(entry),
                }
                Ok(WriteOutcome::Integer(updated))
            }
            WriteKind::IncrByFloat { key, delta } => {
                let existing = self.find_live(&key, now);
                let (current, expire_at) = match existing {
                    Some(position) => {
                        let entry = &self.entries[position];
                        (
                            parse_float(entry.string()?).ok_or(StoreError::NotFloat)?,
                            entry.expire_at_ms(),
                        )
                    }
                    None => (0.0, 0),
                };
                let updated = current + delta;
                if !updated.is_finite() {
                    return Err(StoreError::NotFinite);
                }
                let text = Bytes::from(crate::protocol::writer::format_double(updated));
                let entry = Entry::new(&key, &text, expire_at, now);
                match existing {
                    Some(position) => self.replace_at(position, entry),
                    None => self.insert_new(entry),
                }
                Ok(WriteOutcome::Float(text))
            }
            WriteKind::Flush => {
                let removed = self.entries.len();
                self.entries = Vec::new();
                self.index = HashTable::new();
                self.used_memory = 0;
                self.volatile_keys = 0;
                self.sweep_cursor = 0;
                Ok(WriteOutcome::Flushed(removed))
            }
        }
    }

    /// A live collection of type `T` for reading (recording the access): `Ok(None)` when the
    /// key does not exist, [`WrongType`] when it holds another type.
    pub fn read<T: ValueType>(&mut self, key: &[u8], now_ms: u64) -> Result<Option<&T>, WrongType> {
        let Some(entry) = self.get(key, now_ms) else {
            return Ok(None);
        };
        entry.object().and_then(T::cast).map(Some).ok_or(WrongType)
    }

    /// Changes the collection of type `T` at `key` with `change`, creating an empty one first
    /// when the key does not exist and `create` is set (otherwise `Ok(None)` and `change` is not
    /// called). A collection left empty is deleted, as Redis does; memory is accounted.
    pub fn update<T: ValueType, R>(
        &mut self,
        key: &[u8],
        now_ms: u64,
        create: bool,
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, WrongType> {
        self.clock_ms = self.clock_ms.max(now_ms);
        let position = match self.find_live(key, now_ms) {
            Some(position) => {
                let entry = &self.entries[position];
                if entry.object().and_then(T::cast).is_none() {
                    return Err(WrongType);
                }
                self.record_access(position, now_ms);
                position
            }
            None if create => {
                self.insert_new(Entry::with_object(key, T::empty(), 0, now_ms));
                self.entries.len() - 1
            }
            None => return Ok(None),
        };
        let entry = &mut self.entries[position];
        let before = entry.estimated_size();
        let object = entry.object_mut().ok_or(WrongType)?;
        let result = change(T::cast_mut(object).ok_or(WrongType)?);
        let empty = object.is_empty();
        let after = entry.estimated_size();
        self.used_memory = self.used_memory - before + after;
        if empty {
            self.remove_at(position);
        }
        Ok(Some(result))
    }

    /// Stores `entry` at its key, replacing whatever is there (a *STORE destination, RENAME,
    /// RESTORE). An empty collection deletes the key instead. Returns whether a key was replaced.
    pub fn put(&mut self, entry: Entry, now_ms: u64) -> bool {
        self.clock_ms = self.clock_ms.max(now_ms);
        let existing = self.find_live(entry.key(), now_ms);
        if entry.object().is_some_and(Object::is_empty) {
            if let Some(position) = existing {
                self.remove_at(position);
            }
            return existing.is_some();
        }
        match existing {
            Some(position) => {
                self.replace_at(position, entry);
                true
            }
            None => {
                self.insert_new(entry);
                false
            }
        }
    }

    /// Removes a live key, returning its entry.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        let position = self.find_live(key, now_ms)?;
        Some(self.remove_at(position))
    }

    /// The type of a live key (without recording an access).
    pub fn kind(&self, key: &[u8], now_ms: u64) -> Option<Kind> {
        self.peek(key, now_ms).map(Entry::kind)
    }

    /// Number of live keys at `now_ms`.
    pub fn live_len(&self, now_ms: u64) -> usize {
        if self.volatile_keys == 0 {
            return self.entries.len();
        }
        self.entries
            .iter()
            .filter(|entry| !entry.is_expired(now_ms))
            .count()
    }

    pub fn keyspace_summary(&self, now_ms: u64) -> KeyspaceSummary {
        let mut summary = KeyspaceSummary::default();
        if self.volatile_keys == 0 {
            summary.keys = self.entries.len() as u64;
            return summary;
        }
        for entry in &self.entries {
            if entry.is_expired(now_ms) {
                continue;
            }
            summary.keys += 1;
            if entry.has_expiry() {
                summary.volatile_keys += 1;
                summary.ttl_sum_ms += entry.expire_at_ms() - now_ms;
            }
        }
        summary
    }

    /// Visits live entries at positions below `remaining`, highest first, looking at no more than
    /// `budget` positions; returns the new `remaining` (0 when done) and the positions looked at.
    ///
    /// Scanning downwards makes the cursor safe against deletions: a delete moves the *last* entry into
    /// the hole, and the last entry is either already visited (above the cursor) or stays below it, so
    /// every key present for the whole scan is visited at least once.
    pub fn scan(
        &self,
        remaining: usize,
        budget: usize,
        now_ms: u64,
        mut visit: impl FnMut(&Entry),
    ) -> (usize, usize) {
        let mut position = remaining.min(self.entries.len());
        let mut looked = 0;
        while position > 0 && looked < budget {
            position -= 1;
            looked += 1;
            let entry = &self.entries[position];
            if !entry.is_expired(now_ms) {
                visit(entry);
            }
        }
        (position, looked)
    }

    /// Picks a random entry for eviction (only entries with an expiry when `volatile_only`).
    pub fn sample(&self, rng: &mut SampleRng, volatile_only: bool) -> Option<&Entry> {
        let length = self.entries.len();
        if length == 0 || (volatile_only && self.volatile_keys == 0) {
            return None;
        }
        for _ in 0..16 {
            let entry = &self.entries[rng.below(length)];
            if !volatile_only || entry.has_expiry() {
                return Some(entry);
            }
        }
        // Few volatile keys: walk from a random start to the next one.
        let start = rng.below(length);
        (0..length)
            .map(|step| &self.entries[(start + step) % length])
            .find(|entry| entry.has_expiry())
    }

    /// Removes every entry whose key `doomed` accepts (a partition handed away or replaced by a
    /// snapshot). Returns how many were removed.
    pub fn remove_where(&mut self, mut doomed: impl FnMut(&[u8]) -> bool) -> usize {
        let mut removed = 0;
        let mut position = self.entries.len();
        while position > 0 {
            position -= 1;
            if doomed(self.entries[position].key()) {
                // swap_remove moves the last entry here; it was already looked at.
                self.remove_at(position);
                removed += 1;
            }
        }
        self.sweep_cursor = 0;
        removed
    }

    /// Inserts or replaces an entry as it was (snapshot restore).
    pub fn put_entry(&mut self, entry: Entry) {
        match self.find(entry.key()) {
            Some(position) => self.replace_at(position, entry),
            None => self.insert_new(entry),
        }
    }

    /// Active expiry: examines up to `budget` positions from the sweep cursor and deletes expired
    /// keys. Returns `(volatile keys examined, keys expired)`.
    pub fn sweep_expired(&mut self, now_ms: u64, budget: usize) -> (usize, usize) {
        let mut examined = 0;
        let mut expired = 0;
        if self.volatile_keys == 0 {
            return (0, 0);
        }
        for _ in 0..budget {
            if self.entries.is_empty() {
                break;
            }
            if self.sweep_cursor >= self.entries.len() {
                self.sweep_cursor = 0;
            }
            let entry = &self.entries[self.sweep_cursor];
            if entry.has_expiry() {
                examined += 1;
                if entry.is_expired(now_ms) {
                    // The swapped-in last entry now sits at the cursor; look at it next.
                    self.remove_at(self.sweep_cursor);
                    self.expired_keys += 1;
                    expired += 1;
                    continue;
                }
            }
            self.sweep_cursor += 1;
        }
        (examined, expired)
    }
}

/// Parses a decimal integer as strictly as Redis's `string2ll`: optional '-', no '+', no spaces, no
/// leading zeros, within i64.
pub fn parse_integer(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(digit - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// Parses a float as Redis's `string2ld` does: the whole string, no spaces, not NaN.
pub fn parse_float(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(now_ms: u64, kind: WriteKind) -> WriteOp {
        WriteOp { now_ms, kind }
    }

    fn set(key: &str, value: &str, expiry: SetExpiry) -> WriteKind {
        WriteKind::Set {
            key: Bytes::from(key.to_owned()),
            value: Bytes::from(value.to_owned()),
            expiry,
            condition: SetCondition::Always,
            return_old: false,
        }
    }

    #[test]
    fn set_get_delete_and_memory_accounting() {
        let mut store = Store::new();
        store
            .apply(op(1, set("a", "xyz", SetExpiry::Clear)))
            .unwrap();
        assert_eq!(
            store.get(b"a", 1).map(|e| e.value().to_vec()),
            Some(b"xyz".to_vec())
        );
        assert_eq!(store.used_memory(), estimated_size(1, 3));
        store
            .apply(op(1, set("a", "longer", SetExpiry::Clear)))
            .unwrap();
        assert_eq!(store.used_memory(), estimated_size(1, 6));
        let deleted = store
            .apply(op(
                1,
                WriteKind::Delete {
                    key: Bytes::from("a"),
                    reason: DeleteReason::Command,
                },
            ))
            .unwrap();
        assert!(matches!(deleted, WriteOutcome::Deleted(Some(_))));
        assert_eq!(store.used_memory(), 0);
        assert!(store.get(b"a", 1).is_none());
    }

    #[test]
    fn expired_keys_are_invisible_and_lazily_deleted() {
        let mut store = Store::new();
        store
            .apply(op(100, set("k", "v", SetExpiry::At(200))))
            .unwrap();
        assert!(store.peek(b"k", 199).is_some());
        assert!(store.peek(b"k", 200).is_none());
        assert_eq!(store.live_len(200), 0);
        assert!(store.get(b"k", 200).is_none());
        assert_eq!(store.stored_len(), 0);
        assert_eq!(store.expired_keys(), 1);
    }

    #[test]
    fn removal_keeps_index_consistent() {
        let mut store = Store::new();
        for i in 0..1000 {
            store
                .apply(op(
                    1,
                    set(&format!("k{i}"), &i.to_string(), SetExpiry::Clear),
                ))
                .unwrap();
        }
        for i in (0..1000).step_by(3) {
            store
                .apply(op(
                    1,
                    WriteKind::Delete {
                        key: Bytes::from(format!("k{i}")),
                        reason: DeleteReason::Command,
                    },
                ))
                .unwrap();
        }
        for i in 0..1000 {
            let found = store
                .peek(format!("k{i}").as_bytes(), 1)
                .map(|e| e.value().to_vec());
            if i % 3 == 0 {
                assert_eq!(found, None);
            } else {
                assert_eq!(found, Some(i.to_string().into_bytes()));
            }
        }
    }

    #[test]
    fn sweep_deletes_only_expired_keys() {
        let mut store = Store::new();
        for i in 0..100 {
            let expiry = if i % 2 == 0 {
                SetExpiry::At(50)
            } else {
                SetExpiry::Clear
            };
            store
                .apply(op(1, set(&format!("k{i}"), "v", expiry)))
                .unwrap();
        }
        let (_, expired) = store.sweep_expired(60, 1000);
        assert_eq!(expired, 50);
        assert_eq!(store.stored_len(), 50);
        assert_eq!(store.volatile_len(), 0);
    }

    #[test]
    fn scan_visits_every_key_present_throughout_despite_deletes() {
        let mut store = Store::new();
        for i in 0..200 {
            store
                .apply(op(1, set(&format!("k{i}"), "v", SetExpiry::Clear)))
                .unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let mut remaining = usize::MAX;
        let mut deleted = 0;
        loop {
            (remaining, _) = store.scan(remaining, 10, 1, |entry| {
                seen.insert(entry.key().to_vec());
            });
            // Delete a key that was not yet visited half of the time, and a visited one otherwise.
            let victim = format!("k{deleted}");
            store
                .apply(op(
                    1,
                    WriteKind::Delete {
                        key: Bytes::from(victim),
                        reason: DeleteReason::Command,
                    },
                ))
                .unwrap();
            deleted += 1;
            if remaining == 0 {
                break;
            }
        }
        for i in deleted..200 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
    }

    /// A random write for the model test; keys come from a small set so operations collide.
    fn arbitrary_op() -> impl proptest::strategy::Strategy<Value = WriteKind> {
        use proptest::prelude::*;
        let key = (0u8..6).prop_map(|k| Bytes::from(format!("k{k}")));
        let value = proptest::collection::vec(b'0'..=b'9', 0..4).prop_map(Bytes::from);
        prop_oneof![
            (key.clone(), value.clone(), 0u64..40, 0u8..3).prop_map(|(key, value, at, mode)| {
                WriteKind::Set {
                    key,
                    value,
                    expiry: if at == 0 {
                        SetExpiry::Clear
                    } else {
                        SetExpiry::At(at)
                    },
                    condition: [
                        SetCondition::Always,
                        SetCondition::IfAbsent,
                        SetCondition::IfPresent,
                    ][usize::from(mode)],
                    return_old: mode == 1,
                }
            }),
            key.clone().prop_map(|key| WriteKind::Delete {
                key,
                reason: DeleteReason::Command
            }),
            (key.clone(), 0u64..40).prop_map(|(key, at_ms)| WriteKind::Expire {
                key,
                at_ms,
                condition: ExpireCondition::Always,
            }),
            (key.clone(), value).prop_map(|(key, suffix)| WriteKind::Append { key, suffix }),
            (key, -5i64..5).prop_map(|(key, delta)| WriteKind::IncrBy { key, delta }),
        ]
    }

    proptest::proptest! {
        /// The state machine property replication relies on: the same operations give the same state,
        /// and that state matches a naive model (a map of value and absolute expiry).
        #[test]
        fn same_operations_same_state_and_matches_model(
            ops in proptest::collection::vec((arbitrary_op(), 0u64..4), 0..60)
        ) {
            let mut first = Store::new();
            let mut second = Store::new();
            let mut model: std::collections::BTreeMap<Bytes, (Vec<u8>, u64)> = Default::default();
            let mut now = 1;
            for (kind, advance) in ops {
                now += advance;
                model.retain(|_, (_, at)| *at == 0 || *at > now);
                let a = first.apply(WriteOp { now_ms: now, kind: kind.clone() });
                let b = second.apply(WriteOp { now_ms: now, kind: kind.clone() });
                proptest::prop_assert_eq!(&a, &b);
                match kind {
                    WriteKind::Set { key, value, expiry, condition, .. } => {
                        let exists = model.contains_key(&key);
                        let allowed = match condition {
                            SetCondition::Always => true,
                            SetCondition::IfAbsent => !exists,
                            SetCondition::IfPresent => exists,
                        };
                        if allowed {
                            let at = match expiry { SetExpiry::At(at) => at, _ => 0 };
                            if at != 0 && at <= now { model.remove(&key); } else { model.insert(key, (value.to_vec(), at)); }
                        }
                    }
                    WriteKind::Delete { key, .. } => { model.remove(&key); }
                    WriteKind::Expire { key, at_ms, .. } => {
                        if at_ms != 0 && at_ms <= now { model.remove(&key); }
                        else if let Some(entry) = model.get_mut(&key) { entry.1 = at_ms; }
                    }
                    WriteKind::Append { key, suffix } => {
                        model.entry(key).or_insert((Vec::new(), 0)).0.extend_from_slice(&suffix);
                    }
                    WriteKind::IncrBy { key, delta } if a.is_ok() => {
                        let entry = model.entry(key).or_insert((b"0".to_vec(), 0));
                        let current: i64 = std::str::from_utf8(&entry.0).unwrap().parse().unwrap();
                        entry.0 = (current + delta).to_string().into_bytes();
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(first.used_memory(), second.used_memory());
                for k in 0..6u8 {
                    let key = format!("k{k}");
                    let stored = first.peek(key.as_bytes(), now).map(|e| (e.value().to_vec(), e.expire_at_ms()));
                    proptest::prop_assert_eq!(stored, model.get(key.as_bytes()).cloned(), "key {}", key);
                }
                let expected_memory: u64 = first.entries.iter().map(Entry::estimated_size).sum();
                proptest::prop_assert_eq!(first.used_memory(), expected_memory);
            }
        }
    }

    #[test]
    fn strict_integer_parsing() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"-12"), Some(-12));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"007"[..],
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-0",
            b"9223372036854775808",
            b"1.0",
        ] {
            assert_eq!(
                parse_integer(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
