//! The active expiry sweep: a background task that, ten times a second like Redis's default `hz`,
//! walks a slice of every shard and deletes keys whose expiry has passed. Lazy expiry (on access)
//! keeps expired keys invisible; the sweep reclaims the memory of keys nobody reads again.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::Shared;
use crate::store::unix_ms;

/// Sweep period.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(100);
/// Entries examined per shard per round; small so a shard lock is held for microseconds.
pub const SWEEP_BUDGET_PER_SHARD: usize = 256;

/// Runs until the task is dropped or aborted.
pub async fn run(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let expired = shared
            .keyspace
            .sweep_expired(unix_ms(), SWEEP_BUDGET_PER_SHARD);
        if expired > 0 {
            tracing::trace!(expired, "active expiry sweep");
        }
    }
}
