//! `spec.evictionPolicy`: what a node does when its memory limit is reached (Redis' `maxmemory-policy`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a node does when a write would take it over its memory limit. The names are Redis'
/// `maxmemory-policy` values that `ringcache-node` implements.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum EvictionPolicy {
    /// Refuse writes with an error once the limit is reached.
    #[serde(rename = "noeviction")]
    NoEviction,
    /// Evict the least recently used key of all keys.
    #[default]
    #[serde(rename = "allkeys-lru")]
    AllKeysLru,
    /// Evict the least recently used key among keys with a TTL.
    #[serde(rename = "volatile-lru")]
    VolatileLru,
    /// Evict a random key.
    #[serde(rename = "allkeys-random")]
    AllKeysRandom,
    /// Evict a random key among keys with a TTL.
    #[serde(rename = "volatile-random")]
    VolatileRandom,
    /// Evict the key with the nearest expiry.
    #[serde(rename = "volatile-ttl")]
    VolatileTtl,
    /// Evict the least frequently used key of all keys.
    #[serde(rename = "allkeys-lfu")]
    AllKeysLfu,
    /// Evict the least frequently used key among keys with a TTL.
    #[serde(rename = "volatile-lfu")]
    VolatileLfu,
}

impl EvictionPolicy {
    /// The name `ringcache-node --maxmemory-policy` accepts.
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
}
