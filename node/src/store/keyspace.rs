//! [`Keyspace`]: the sharded set of stores one process serves, with the memory limit and eviction.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use thiserror::Error;

use super::entry::Entry;
use super::op::{DeleteReason, StoreError, WriteKind, WriteOp, WriteOutcome};
use super::state_machine::{KeyspaceSummary, Store};
use crate::eviction::{EvictionPolicy, SAMPLES, SampleRng};

/// Number of shards; equal to the default partition count of the cluster.
pub const SHARDS: usize = ringcache_placement::DEFAULT_PARTITIONS as usize;

/// Seed of the eviction sampler. Fixed, so eviction is reproducible.
const EVICTION_SEED: u64 = 0x05ee_d0fe_71c7;

/// CRC16-XMODEM lookup table, built at compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The key's Redis Cluster slot: the same function as `ringcache_placement::key_slot` (a test checks
/// they agree on arbitrary keys), table-driven because it runs on every command.
pub fn key_slot(key: &[u8]) -> u16 {
    let tag = ringcache_placement::hash_tag(key);
    let crc = tag.iter().fold(0u16, |crc, &byte| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ byte)]
    });
    crc % ringcache_placement::SLOT_COUNT
}

/// What a range of slots holds: keys (expired ones not yet deleted included) and their estimated
/// bytes, the same estimate as [`Keyspace::used_memory`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotUsage {
    pub keys: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("OOM command not allowed when used memory > 'maxmemory'.")]
pub struct OutOfMemory;

#[derive(Debug)]
pub struct Keyspace {
    shards: Box<[Mutex<Store>]>,
    used_memory: AtomicU64,
    maxmemory: AtomicU64,
    policy: AtomicU8,
    eviction_rng: Mutex<SampleRng>,
    /// Blocking list commands (BLPOP …) wait on their keys' shards here; a write that gave a list
    /// elements wakes its shard's waiters (see [`Db::signal_list_ready`]), which look again.
    list_pushed: Box<[tokio::sync::Notify]>,
    /// Blocked readers now waiting: pushes notify only when there are some (waking takes a lock,
    /// which every LPUSH would otherwise pay).
    list_waiters: std::sync::atomic::AtomicUsize,
}

/// [`Db::signal_list_ready`] marks shards in a 64-bit set.
const _: () = assert!(SHARDS <= 64);

/// See [`Keyspace::list_pushed`].
pub struct ListPushed<'a> {
    waits: Vec<Pin<Box<tokio::sync::futures::Notified<'a>>>>,
    waiters: &'a std::sync::atomic::AtomicUsize,
}

impl Drop for ListPushed<'_> {
    fn drop(&mut self) {
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Future for ListPushed<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let pushed = self
            .waits
            .iter_mut()
            .any(|wait| wait.as_mut().poll(context).is_ready());
        if pushed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A SCAN position: the shard being scanned and how many of its entries (counted from the start of
/// its dense entry vector) are still to visit; `None` means the shard has not been started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor {
    pub shard: usize,
    pub remaining: Option<usize>,
}

impl ScanCursor {
    pub const START: ScanCursor = ScanCursor {
        shard: 0,
        remaining: None,
    };

    /// The number returned to clients; 0 both starts and ends a scan.
    pub fn encode(self) -> u64 {
        if self.shard >= SHARDS {
            return 0;
        }
        let remaining = self.remaining.map_or(0, |remaining| remaining as u64 + 1);
        (remaining << 8) | self.shard as u64
    }

    pub fn decode(cursor: u64) -> ScanCursor {
        let shard = (cursor & 0xff) as usize;
        let remaining = match cursor >> 8 {
            0 => None,
            encoded => Some((encoded - 1) as usize),
        };
        ScanCursor { shard, remaining }
    }
}

/// The stores a command works on: the shards of the keys it named, locked together in ascending
/// order (so multi-key commands are atomic and deadlock-free), and the clock of whoever decided a
/// write (this process, or the partition leader that proposed it). One shard, the common case,
/// needs no allocation.
pub struct Db<'a> {
    first: (usize, MutexGuard<'a, Store>),
    rest: Vec<(usize, MutexGuard<'a, Store>)>,
    pub now_ms: u64,
    /// Shards (bit i: shard i) whose blocked list readers are woken once the locks are released.
    lists_ready: u64,
}

impl Db<'_> {
    /// The store of `key`'s shard. Only keys named when the shards were locked may be passed.
    pub fn store(&mut self, key: &[u8]) -> &mut Store {
        let shard = Keyspace::shard_of(key);
        if self.first.0 == shard {
            return &mut self.first.1;
        }
        match self.rest.iter().position(|(index, _)| *index == shard) {
            Some(position) => &mut self.rest[position].1,
            None => &mut self.first.1,
        }
    }

    /// Records that the list at `key` may have received elements (a push, the destination of a
    /// move): blocking commands waiting on its shard look again once this write's locks are
    /// released. Called by every write that gives a list elements, on every replica (only a
    /// leader has waiters), so pushes arriving through replication wake them too.
    pub fn signal_list_ready(&mut self, key: &[u8]) {
        self.lists_ready |= 1 << Keyspace::shard_of(key);
    }

    fn used_memory(&self) -> u64 {
        self.first.1.used_memory()
            + self
                .rest
                .iter()
                .map(|(_, guard)| guard.used_memory())
                .sum::<u64>()
    }
}

impl Keyspace {
    pub fn new(maxmemory: u64, policy: EvictionPolicy) -> Self {
        let keyspace = Keyspace {
            shards: (0..SHARDS).map(|_| Mutex::new(Store::new())).collect(),
            used_memory: AtomicU64::new(0),
            maxmemory: AtomicU64::new(maxmemory),
            policy: AtomicU8::new(policy.to_index()),
            eviction_rng: Mutex::new(SampleRng::new(EVICTION_SEED)),
            list_pushed: (0..SHARDS).map(|_| tokio::sync::Notify::new()).collect(),
            list_waiters: std::sync::atomic::AtomicUsize::new(0),
        };
        keyspace.set_policy(policy);
        keyspace
    }

    /// A keyspace replicated by Raft: reads never delete expired keys (see
    /// [`Store::set_keep_expired_on_read`]).
    pub fn new_replicated(maxmemory: u64, policy: EvictionPolicy) -> Self {
        let keyspace = Keyspace::new(maxmemory, policy);
        for shard in keyspace.shards.iter() {
            shard.lock().set_keep_expired_on_read(true);
        }
        keyspace
    }

    /// The shards holding keys of `slots` (shards are slot ranges too).
    fn shards_of_slots(slots: &std::ops::Range<u16>) -> std::ops::Range<usize> {
        let count = usize::from(ringcache_placement::SLOT_COUNT);
        let first = usize::from(slots.start) * SHARDS / count;
        let last = (usize::from(slots.end.max(1)) - 1) * SHARDS / count;
        first..last + 1
    }

    /// Every entry whose slot is in `slots`, including expired ones (a partition's snapshot).
    pub fn entries_in(&self, slots: std::ops::Range<u16>) -> Vec<Entry> {
        let mut entries = Vec::new();
        for index in Self::shards_of_slots(&slots) {
            let store = self.shards[index].lock();
            store.scan(usize::MAX, usize::MAX, 0, |entry| {
                if slots.contains(&key_slot(entry.key())) {
                    entries.push(entry.clone());
                }
            });
        }
        entries
    }

    /// Deletes every key whose slot is in `slots`; returns how many.
    pub fn remove_slots(&self, slots: std::ops::Range<u16>) -> usize {
        Self::shards_of_slots(&slots)
            .map(|index| {
                self.with_shard(index, |store| {
                    store.remove_where(|key| slots.contains(&key_slot(key)))
                })
            })
            .sum()
    }

    /// Inserts `entries`, replacing keys that exist (restoring a partition's snapshot, a chunk
    /// at a time, after [`Keyspace::remove_slots`]).
    pub fn insert_entries(&self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            let shard = Self::shard_of(entry.key());
            self.with_shard(shard, |store| store.put_entry(entry));
        }
    }

    /// Keys of `slots` expired at `now_ms`, at most `limit` (the leader proposes their deletion).
    pub fn expired_in(&self, slots: std::ops::Range<u16>, now_ms: u64, limit: usize) -> Vec<Bytes> {
        let mut keys = Vec::new();
        for index in Self::shards_of_slots(&slots) {
            let store = self.shards[index].lock();
            if store.volatile_len() == 0 {
                continue;
            }
            store.scan(usize::MAX, usize::MAX, 0, |entry| {
                if keys.len() < limit
                    && entry.is_expired(now_ms)
                    && slots.contains(&key_slot(entry.key()))
                {
                    keys.push(Bytes::copy_from_slice(entry.key()));
                }
            });
            if keys.len() >= limit {
                break;
            }
        }
        keys
    }

    /// Live keys of `slots`, counted.
    pub fn count_in(&self, slots: std::ops::Range<u16>) -> u64 {
        let mut count = 0;
        for index in Self::shards_of_slots(&slots) {
            let store = self.shards[index].lock();
            store.scan(usize::MAX, usize::MAX, 0, |entry| {
                if slots.contains(&key_slot(entry.key())) {
                    count += 1;
                }
            });
        }
        count
    }

    /// Keys and estimated bytes held in `slots` (a partition's size, reported by the admin API).
    /// A shard that lies wholly inside `slots` is summed from its counters, without a scan.
    pub fn usage_in(&self, slots: std::ops::Range<u16>) -> SlotUsage {
        let count = usize::from(ringcache_placement::SLOT_COUNT);
        let mut usage = SlotUsage::default();
        for index in Self::shards_of_slots(&slots) {
            // The shard's own slots: those s with s * SHARDS / count == index.
            let first = (index * count).div_ceil(SHARDS);
            let end = ((index + 1) * count).div_ceil(SHARDS);
            let store = self.shards[index].lock();
            if usize::from(slots.start) <= first && end <= usize::from(slots.end) {
                usage.keys += store.stored_len() as u64;
                usage.bytes += store.used_memory();
                continue;
            }
            store.scan(usize::MAX, usize::MAX, 0, |entry| {
                if slots.contains(&key_slot(entry.key())) {
                    usage.keys += 1;
                    usage.bytes += entry.estimated_size();
                }
            });
        }
        usage
    }

    pub fn shard_of(key: &[u8]) -> usize {
        usize::from(key_slot(key)) * SHARDS / usize::from(ringcache_placement::SLOT_COUNT)
    }

    pub fn used_memory(&self) -> u64 {
        self.used_memory.load(Ordering::Relaxed)
    }

    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }

    pub fn set_maxmemory(&self, bytes: u64) {
        self.maxmemory.store(bytes, Ordering::Relaxed);
    }

    pub fn policy(&self) -> EvictionPolicy {
        EvictionPolicy::from_index(self.policy.load(Ordering::Relaxed))
    }

    pub fn set_policy(&self, policy: EvictionPolicy) {
        self.policy.store(policy.to_index(), Ordering::Relaxed);
        for shard in self.shards.iter() {
            shard.lock().set_lfu(policy.is_lfu());
        }
    }

    fn record_memory_change(&self, before: u64, after: u64) {
        if before != after {
            self.used_memory
                .fetch_add(after.wrapping_sub(before), Ordering::Relaxed);
        }
    }

    /// Runs `work` on shard `index` with its lock held, keeping the memory total in step.
    pub fn with_shard<R>(&self, index: usize, work: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.shards[index].lock();
        let before = store.used_memory();
        let result = work(&mut store);
        // Recorded while the lock is held, so FLUSHALL (which holds every lock) never races with a
        // pending update and the total cannot drift.
        self.record_memory_change(before, store.used_memory());
        drop(store);
        result
    }

    /// Runs `work` on the shard that owns `key`.
    pub fn with_key<R>(&self, key: &[u8], work: impl FnOnce(&mut Store) -> R) -> R {
        self.with_shard(Self::shard_of(key), work)
    }

    /// Runs `work` with the shards of all `keys` locked (in ascending shard order) at the clock
    /// `now_ms`, keeping the memory total in step. With no key, shard 0 is locked.
    pub fn with_keys<'k, R>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        now_ms: u64,
        work: impl FnOnce(&mut Db<'_>) -> R,
    ) -> R {
        let mut keys = keys.into_iter();
        let first = keys.next().map_or(0, Self::shard_of);
        let mut others: Vec<usize> = keys
            .map(Self::shard_of)
            .filter(|&index| index != first)
            .collect();
        let mut db = if others.is_empty() {
            Db {
                first: (first, self.shards[first].lock()),
                rest: Vec::new(),
                now_ms,
                lists_ready: 0,
            }
        } else {
            others.push(first);
            others.sort_unstable();
            others.dedup();
            let lowest = others[0];
            Db {
                first: (lowest, self.shards[lowest].lock()),
                rest: others[1..]
                    .iter()
                    .map(|&index| (index, self.shards[index].lock()))
                    .collect(),
                now_ms,
                lists_ready: 0,
            }
        };
        let before = db.used_memory();
        let result = work(&mut db);
        // Recorded while the locks are held (see `with_shard`).
        self.record_memory_change(before, db.used_memory());
        let mut lists_ready = db.lists_ready;
        drop(db);
        // Blocked list readers are woken after the locks are released (they take them to look).
        // A reader counts itself before it looks, so one that looked before this write sees the
        // count here (both SeqCst), and one that counts itself after it finds the write done.
        if self.list_waiters.load(Ordering::SeqCst) == 0 {
            lists_ready = 0;
        }
        while lists_ready != 0 {
            let shard = lists_ready.trailing_zeros() as usize;
            lists_ready &= lists_ready - 1;
            self.list_pushed[shard].notify_waiters();
        }
        result
    }

    /// For a blocking list command: completes once a write signals (with
    /// [`Db::signal_list_ready`]) a list on the shard of one of `keys`. Signals count from this
    /// call on, even before the future is first polled: call it, then look at the keys, then
    /// await it, and no push in between is missed. It may complete for a push to another key of
    /// the same shard; the waiter just looks again.
    pub fn list_pushed<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> ListPushed<'_> {
        let mut shards: Vec<usize> = keys.into_iter().map(Self::shard_of).collect();
        shards.sort_unstable();
        shards.dedup();
        self.list_waiters.fetch_add(1, Ordering::SeqCst);
        ListPushed {
            waiters: &self.list_waiters,
            waits: shards
                .into_iter()
                .map(|shard| Box::pin(self.list_pushed[shard].notified()))
                .collect(),
        }
    }

    /// Applies one write to the shard of its key (every shard for `Flush`).
    pub fn apply(&self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        let key = match &op.kind {
            WriteKind::Set { key, .. }
            | WriteKind::Delete { key, .. }
            | WriteKind::Expire { key, .. }
            | WriteKind::Append { key, .. }
            | WriteKind::IncrBy { key, .. }
            | WriteKind::IncrByFloat { key, .. } => key.clone(),
            WriteKind::Flush => return Ok(WriteOutcome::Flushed(self.flush(op.now_ms))),
        };
        self.with_key(&key, |store| store.apply(op))
    }

    /// Deletes every key; all shards are locked together so no write interleaves.
    pub fn flush(&self, now_ms: u64) -> usize {
        let mut guards: Vec<MutexGuard<'_, Store>> =
            self.shards.iter().map(|shard| shard.lock()).collect();
        let mut removed = 0;
        for store in guards.iter_mut() {
            if let Ok(WriteOutcome::Flushed(count)) = store.apply(WriteOp {
                now_ms,
                kind: WriteKind::Flush,
            }) {
                removed += count;
            }
        }
        self.used_memory.store(0, Ordering::Relaxed);
        removed
    }

    pub fn dbsize(&self, now_ms: u64) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().live_len(now_ms))
            .sum()
    }

    pub fn summary(&self, now_ms: u64) -> KeyspaceSummary {
        self.shards
            .iter()
            .fold(KeyspaceSummary::default(), |mut total, shard| {
                let summary = shard.lock().keyspace_summary(now_ms);
                total.keys += summary.keys;
                total.volatile_keys += summary.volatile_keys;
                total.ttl_sum_ms += summary.ttl_sum_ms;
                total
            })
    }

    pub fn expired_keys(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.lock().expired_keys())
            .sum()
    }

    pub fn evicted_keys(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.lock().evicted_keys())
            .sum()
    }

    /// Live keys matching `pattern` (KEYS). Each shard is locked only while it is read.
    pub fn keys(&self, pattern: &[u8], now_ms: u64) -> Vec<Bytes> {
        let mut keys = Vec::new();
        let match_all = pattern == b"*";
        for shard in self.shards.iter() {
            let store = shard.lock();
            store.scan(usize::MAX, usize::MAX, now_ms, |entry| {
                if match_all || crate::glob::matches(pattern, entry.key()) {
                    keys.push(Bytes::copy_from_slice(entry.key()));
                }
            });
        }
        keys
    }

    /// One SCAN step: looks at about `count` entries from `cursor`, returns the next cursor and the
    /// live keys accepted by `filter`.
    pub fn scan(
        &self,
        cursor: ScanCursor,
        count: usize,
        now_ms: u64,
        mut filter: impl FnMut(&Entry) -> bool,
    ) -> (ScanCursor, Vec<Bytes>) {
        let mut cursor = cursor;
        let mut keys = Vec::new();
        let mut budget = count.max(1);
        while cursor.shard < SHARDS && budget > 0 {
            let store = self.shards[cursor.shard].lock();
            let (remaining, looked) = store.scan(
                cursor.remaining.unwrap_or(usize::MAX),
                budget,
                now_ms,
                |entry| {
                    if filter(entry) {
                        keys.push(Bytes::copy_from_slice(entry.key()));
                    }
                },
            );
            drop(store);
            budget = budget.saturating_sub(looked);
            if remaining == 0 {
                cursor = ScanCursor {
                    shard: cursor.shard + 1,
                    remaining: None,
                };
            } else {
                cursor.remaining = Some(remaining);
            }
        }
        (cursor, keys)
    }

    /// A live key chosen at random (RANDOMKEY), or `None` when there is none.
    pub fn random_key(&self, now_ms: u64, seed: u64) -> Option<Bytes> {
        let mut rng = SampleRng::new(seed);
        // Random shards first, then every shard from a random start, so a sparse keyspace
        // still finds its keys.
        for _ in 0..SHARDS {
            let store = self.shards[rng.below(SHARDS)].lock();
            if let Some(entry) = store.sample(&mut rng, false)
                && !entry.is_expired(now_ms)
            {
                return Some(Bytes::copy_from_slice(entry.key()));
            }
        }
        let start = rng.below(SHARDS);
        (0..SHARDS).find_map(|step| {
            let store = self.shards[(start + step) % SHARDS].lock();
            let mut found = None;
            store.scan(usize::MAX, usize::MAX, now_ms, |entry| {
                if found.is_none() {
                    found = Some(Bytes::copy_from_slice(entry.key()));
                }
            });
            found
        })
    }

    /// Active expiry over all shards: returns the keys expired.
    pub fn sweep_expired(&self, now_ms: u64, budget_per_shard: usize) -> usize {
        let mut expired_total = 0;
        for index in 0..SHARDS {
            // Redis-style: keep sweeping a shard while more than a quarter of what it examined had
            // expired, up to a few rounds so one sweep stays short.
            for _ in 0..4 {
                let (examined, expired) =
                    self.with_shard(index, |store| store.sweep_expired(now_ms, budget_per_shard));
                expired_total += expired;
                if examined == 0 || expired * 4 <= examined {
                    break;
                }
            }
        }
        expired_total
    }

    /// Evicts keys until the memory estimate is within `maxmemory`, following the policy. Fails with
    /// [`OutOfMemory`] when over the limit and nothing may be evicted. Returns the number evicted.
    pub fn make_room(&self, now_ms: u64) -> Result<usize, OutOfMemory> {
        let limit = self.maxmemory();
        if limit == 0 || self.used_memory() <= limit {
            return Ok(0);
        }
        let policy = self.policy();
        if policy == EvictionPolicy::NoEviction {
            return Err(OutOfMemory);
        }
        // One evictor at a time: the sampler's sequence, and so the victims, stay reproducible.
        let mut rng = self.eviction_rng.lock();
        let mut evicted = 0;
        while self.used_memory() > limit {
            let Some((shard, key, _)) = self.choose_victim(&mut rng, policy, now_ms, |_| true)
            else {
                return Err(OutOfMemory);
            };
            self.with_shard(shard, |store| {
                store.apply(WriteOp {
                    now_ms,
                    kind: WriteKind::Delete {
                        key,
                        reason: DeleteReason::Evicted,
                    },
                })
            })
            .ok();
            evicted += 1;
        }
        Ok(evicted)
    }

    /// Replicated mode: the keys to evict (without deleting them) so that memory gets back within
    /// `maxmemory`, chosen by the policy among the keys `accept` allows (the partitions this
    /// member leads), at most `max`. Empty when within the limit; [`OutOfMemory`] when over it
    /// and nothing may be evicted.
    pub fn choose_victims(
        &self,
        now_ms: u64,
        accept: impl Fn(&[u8]) -> bool,
        max: usize,
    ) -> Result<Vec<Bytes>, OutOfMemory> {
        let limit = self.maxmemory();
        let used = self.used_memory();
        if limit == 0 || used <= limit {
            return Ok(Vec::new());
        }
        let policy = self.policy();
        if policy == EvictionPolicy::NoEviction {
            return Err(OutOfMemory);
        }
        let mut rng = self.eviction_rng.lock();
        let mut to_free = used - limit;
        let mut victims: Vec<Bytes> = Vec::new();
        while to_free > 0 && victims.len() < max {
            let chosen = self.choose_victim(&mut rng, policy, now_ms, |key| {
                accept(key) && !victims.iter().any(|victim| victim.as_ref() == key)
            });
            let Some((_, key, size)) = chosen else {
                break;
            };
            to_free = to_free.saturating_sub(size);
            victims.push(key);
        }
        if victims.is_empty() {
            return Err(OutOfMemory);
        }
        Ok(victims)
    }

    /// The best of a few sampled keys by the policy's score (Redis's approximated LRU/TTL),
    /// among those `accept` allows: its shard, key and estimated size.
    fn choose_victim(
        &self,
        rng: &mut SampleRng,
        policy: EvictionPolicy,
        now_ms: u64,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Option<(usize, Bytes, u64)> {
        let mut best: Option<(u64, usize, Bytes, u64)> = None;
        let mut candidates = 0;
        for _ in 0..SAMPLES * 8 {
            if candidates == SAMPLES {
                break;
            }
            let shard = rng.below(SHARDS);
            let store = self.shards[shard].lock();
            if let Some(entry) = store.sample(rng, policy.volatile_only())
                && accept(entry.key())
            {
                candidates += 1;
                let score = policy.score(entry, now_ms);
                if best
                    .as_ref()
                    .is_none_or(|(best_score, ..)| score > *best_score)
                {
                    best = Some((
                        score,
                        shard,
                        Bytes::copy_from_slice(entry.key()),
                        entry.estimated_size(),
                    ));
                }
            }
        }
        if best.is_none() {
            // Sparse keyspace: walk the shards from a random one to find any candidate.
            let start = rng.below(SHARDS);
            for step in 0..SHARDS {
                let shard = (start + step) % SHARDS;
                let store = self.shards[shard].lock();
                let mut found = None;
                store.scan(usize::MAX, usize::MAX, 0, |entry| {
                    if found.is_none()
                        && (!policy.volatile_only() || entry.has_expiry())
                        && accept(entry.key())
                    {
                        found = Some((Bytes::copy_from_slice(entry.key()), entry.estimated_size()));
                    }
                });
                if let Some((key, size)) = found {
                    best = Some((0, shard, key, size));
                    break;
                }
            }
        }
        best.map(|(_, shard, key, size)| (shard, key, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SetCondition, SetExpiry, estimated_size};

    #[test]
    fn replicated_eviction_chooses_accepted_victims_without_deleting() {
        let keyspace = Keyspace::new_replicated(0, EvictionPolicy::AllKeysLru);
        for i in 0..200 {
            set(&keyspace, &format!("a{i}"), 1, SetExpiry::Clear);
            set(&keyspace, &format!("b{i}"), 1, SetExpiry::Clear);
        }
        assert_eq!(keyspace.choose_victims(1, |_| true, 10), Ok(Vec::new()));
        let used = keyspace.used_memory();
        keyspace.set_maxmemory(used - 3 * estimated_size(4, 100));
        let victims = keyspace
            .choose_victims(1, |key| key.starts_with(b"a"), 64)
            .unwrap();
        assert!(!victims.is_empty() && victims.len() <= 5, "{victims:?}");
        assert!(victims.iter().all(|key| key.starts_with(b"a")));
        assert_eq!(keyspace.used_memory(), used, "choosing deletes nothing");
        assert_eq!(
            keyspace.choose_victims(1, |_| false, 64),
            Err(OutOfMemory),
            "nothing evictable here"
        );
        keyspace.set_policy(EvictionPolicy::NoEviction);
        assert_eq!(keyspace.choose_victims(1, |_| true, 64), Err(OutOfMemory));
    }

    #[test]
    fn usage_of_slot_ranges_adds_up_to_the_whole_whether_shards_align_or_not() {
        let keyspace = Keyspace::new_replicated(0, EvictionPolicy::NoEviction);
        for i in 0..500 {
            set(&keyspace, &format!("key:{i}"), 1 + i % 7, SetExpiry::Clear);
        }
        // 64 aligned ranges (shard-sized), and 5 ranges that cut through shards.
        for parts in [64u32, 5] {
            let count = u32::from(ringcache_placement::SLOT_COUNT);
            let mut total = SlotUsage::default();
            for part in 0..parts {
                let range = (part * count / parts) as u16..((part + 1) * count / parts) as u16;
                let usage = keyspace.usage_in(range.clone());
                assert_eq!(usage.keys, keyspace.count_in(range));
                total.keys += usage.keys;
                total.bytes += usage.bytes;
            }
            assert_eq!(total.keys, 500);
            assert_eq!(total.bytes, keyspace.used_memory(), "{parts} ranges");
        }
    }

    #[test]
    fn slot_ranges_snapshot_and_replace_exactly_their_keys() {
        let keyspace = Keyspace::new_replicated(0, EvictionPolicy::NoEviction);
        for i in 0..300 {
            set(&keyspace, &format!("k{i}"), 1, SetExpiry::Clear);
        }
        let low = 0..8192u16;
        let high = 8192..16384u16;
        let in_low = keyspace.entries_in(low.clone());
        let in_high = keyspace.count_in(high.clone());
        assert_eq!(in_low.len() as u64 + in_high, 300);
        assert!(in_low.iter().all(|entry| key_slot(entry.key()) < 8192));
        let kept = in_low[..10].to_vec();
        keyspace.remove_slots(low.clone());
        keyspace.insert_entries(kept);
        assert_eq!(keyspace.count_in(low.clone()), 10);
        assert_eq!(
            keyspace.count_in(high.clone()),
            in_high,
            "other slots untouched"
        );
        assert_eq!(keyspace.remove_slots(low.clone()), 10);
        assert_eq!(keyspace.dbsize(1) as u64, in_high);
    }

    fn set(keyspace: &Keyspace, key: &str, now_ms: u64, expiry: SetExpiry) {
        keyspace
            .apply(WriteOp {
                now_ms,
                kind: WriteKind::Set {
                    key: Bytes::from(key.to_owned()),
                    value: Bytes::from_static(&[b'x'; 100]),
                    expiry,
                    condition: SetCondition::Always,
                    return_old: false,
                },
            })
            .unwrap();
    }

    proptest::proptest! {
        #[test]
        fn fast_slot_agrees_with_placement(key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            proptest::prop_assert_eq!(key_slot(&key), ringcache_placement::key_slot(&key));
        }
    }

    #[test]
    fn fast_slot_matches_redis_cluster() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
    }

    #[test]
    fn cursor_round_trips() {
        for cursor in [
            ScanCursor::START,
            ScanCursor {
                shard: 5,
                remaining: Some(0),
            },
            ScanCursor {
                shard: 63,
                remaining: Some(123_456),
            },
        ] {
            assert_eq!(ScanCursor::decode(cursor.encode()), cursor);
        }
        assert_eq!(ScanCursor::START.encode(), 0);
    }

    #[test]
    fn eviction_is_deterministic_and_respects_the_limit() {
        let run = || {
            let keyspace = Keyspace::new(50 * estimated_size(4, 100), EvictionPolicy::AllKeysLru);
            for i in 0..100 {
                set(&keyspace, &format!("k{i:03}"), i, SetExpiry::Clear);
                keyspace.make_room(i).unwrap();
            }
            assert!(keyspace.used_memory() <= keyspace.maxmemory());
            let mut keys = keyspace.keys(b"*", 1000);
            keys.sort();
            keys
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn volatile_policies_fail_without_volatile_keys() {
        let keyspace = Keyspace::new(1, EvictionPolicy::VolatileLru);
        set(&keyspace, "a", 1, SetExpiry::Clear);
        assert_eq!(keyspace.make_room(1), Err(OutOfMemory));
        set(&keyspace, "b", 1, SetExpiry::At(10_000));
        assert!(keyspace.make_room(1).is_err()); // "a" alone still exceeds 1 byte
        assert_eq!(keyspace.keys(b"*", 1), vec![Bytes::from("a")]);
    }

    #[test]
    fn scan_over_shards_returns_every_key_once() {
        let keyspace = Keyspace::new(0, EvictionPolicy::NoEviction);
        for i in 0..500 {
            set(&keyspace, &format!("key:{i}"), 1, SetExpiry::Clear);
        }
        let mut cursor = ScanCursor::START;
        let mut seen = Vec::new();
        loop {
            let (next, keys) = keyspace.scan(cursor, 10, 1, |_| true);
            seen.extend(keys);
            if next.encode() == 0 {
                break;
            }
            cursor = ScanCursor::decode(next.encode());
        }
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, 500);
        assert_eq!(seen.len(), 500);
    }
}
