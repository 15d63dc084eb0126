//! Eviction policies and the deterministic sampler used to pick victims.
//!
//! Like Redis, eviction is approximate: a few random keys are sampled and the best candidate under the
//! policy is deleted, repeated until memory is under the limit. The randomness comes from a seeded
//! generator and the LRU clock from the operations' own timestamps, so the same state and operation
//! sequence always produce the same victims — a leader can decide and ship them as deletes.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::store::Entry;

/// Candidates compared per eviction (Redis's `maxmemory-samples` default).
pub const SAMPLES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionPolicy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
    AllKeysLfu,
    VolatileLfu,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown maxmemory policy '{0}' (expected noeviction, allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, volatile-random or volatile-ttl)"
)]
pub struct UnknownPolicy(pub String);

impl EvictionPolicy {
    pub const ALL: [EvictionPolicy; 8] = [
        EvictionPolicy::NoEviction,
        EvictionPolicy::AllKeysLru,
        EvictionPolicy::VolatileLru,
        EvictionPolicy::AllKeysRandom,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
        EvictionPolicy::AllKeysLfu,
        EvictionPolicy::VolatileLfu,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
        }
    }

    /// Whether only keys with an expiry may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
                | EvictionPolicy::VolatileLfu
        )
    }

    /// Keys track an access frequency instead of an access time (see [`lfu_access`]).
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }

    /// How strongly `entry` should be evicted; the highest score among the samples is the victim.
    /// Random policies give every sample the same score, so the first (random) sample wins.
    pub fn score(self, entry: &Entry, now_ms: u64) -> u64 {
        match self {
            EvictionPolicy::NoEviction
            | EvictionPolicy::AllKeysRandom
            | EvictionPolicy::VolatileRandom => 0,
            EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru => {
                u64::from(entry.idle_ms(now_ms))
            }
            EvictionPolicy::VolatileTtl => u64::MAX - entry.expire_at_ms(),
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu => {
                255 - u64::from(lfu_counter(entry.access_ms(), now_ms))
            }
        }
    }

    pub fn to_index(self) -> u8 {
        Self::ALL
            .iter()
            .position(|policy| *policy == self)
            .unwrap_or(0) as u8
    }

    pub fn from_index(index: u8) -> Self {
        Self::ALL
            .get(usize::from(index))
            .copied()
            .unwrap_or(EvictionPolicy::NoEviction)
    }
}

impl FromStr for EvictionPolicy {
    type Err = UnknownPolicy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|policy| policy.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownPolicy(text.to_owned()))
    }
}

impl fmt::Display for EvictionPolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// SplitMix64: tiny, fast and fully determined by its seed.
/// Redis's LFU, in the 32-bit access field of an entry under an LFU policy: the minute of the last
/// decrement (low 24 bits of unix minutes) above an 8-bit logarithmic counter. A new key starts
/// at [`LFU_INIT`]; an access increments the counter with probability 1 / ((counter − 5) × 10 + 1);
/// every minute without access takes one off (Redis's defaults `lfu-log-factor 10`,
/// `lfu-decay-time 1`). Local to each member, like LRU times: eviction victims are chosen by a
/// partition's leader and replicated as deletes.
pub const LFU_INIT: u8 = 5;
const LFU_LOG_FACTOR: f64 = 10.0;

fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFF_FFFF) as u32
}

/// The access field of a key created now.
pub fn lfu_new(now_ms: u64) -> u32 {
    (lfu_minutes(now_ms) << 8) | u32::from(LFU_INIT)
}

/// The counter, decayed by the minutes since its last decrement.
pub fn lfu_counter(field: u32, now_ms: u64) -> u8 {
    let last = field >> 8;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        0xFF_FFFF - last + now
    };
    (field as u8).saturating_sub(elapsed.min(255) as u8)
}

/// The access field after one access now.
pub fn lfu_access(field: u32, now_ms: u64, rng: &mut SampleRng) -> u32 {
    let mut counter = lfu_counter(field, now_ms);
    if counter < 255 {
        let base = f64::from(counter.saturating_sub(LFU_INIT));
        let chance = 1.0 / (base * LFU_LOG_FACTOR + 1.0);
        let draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if draw < chance {
            counter += 1;
        }
    }
    (lfu_minutes(now_ms) << 8) | u32::from(counter)
}

#[derive(Debug, Clone)]
pub struct SampleRng(u64);

impl SampleRng {
    pub fn new(seed: u64) -> Self {
        SampleRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod lfu_tests {
    use super::*;

    #[test]
    fn frequent_keys_count_higher_and_idle_ones_decay() {
        let mut rng = SampleRng::new(7);
        let now = 10 * 60_000;
        let mut hot = lfu_new(now);
        for _ in 0..1000 {
            hot = lfu_access(hot, now, &mut rng);
        }
        let cold = lfu_access(lfu_new(now), now, &mut rng);
        assert!(lfu_counter(hot, now) > lfu_counter(cold, now) + 5);
        assert_eq!(lfu_counter(lfu_new(now), now), LFU_INIT);
        // Five idle minutes take five off.
        assert_eq!(lfu_counter(lfu_new(now), now + 5 * 60_000), 0);
        let policy = EvictionPolicy::AllKeysLfu;
        assert!(policy.is_lfu() && !policy.volatile_only());
        assert!(EvictionPolicy::VolatileLfu.volatile_only());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_case_insensitively_and_round_trip() {
        for policy in EvictionPolicy::ALL {
            assert_eq!(
                policy.as_str().to_uppercase().parse::<EvictionPolicy>(),
                Ok(policy)
            );
            assert_eq!(EvictionPolicy::from_index(policy.to_index()), policy);
        }
        assert!("allkeys-lfx".parse::<EvictionPolicy>().is_err());
    }

    #[test]
    fn rng_is_deterministic() {
        let mut a = SampleRng::new(7);
        let mut b = SampleRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.below(1000), b.below(1000));
        }
    }

    #[test]
    fn scores_prefer_idle_and_soon_expiring_keys() {
        let old = Entry::new(b"a", b"", 500, 100);
        let recent = Entry::new(b"b", b"", 900, 190);
        assert!(
            EvictionPolicy::AllKeysLru.score(&old, 200)
                > EvictionPolicy::AllKeysLru.score(&recent, 200)
        );
        assert!(
            EvictionPolicy::VolatileTtl.score(&old, 200)
                > EvictionPolicy::VolatileTtl.score(&recent, 200)
        );
    }
}
