//! Active expiry in cluster mode: the leader of each partition finds keys whose expiry passed and
//! proposes their deletion through the log, so every replica deletes the same keys. (Replicas
//! never delete by their own clock; reads just hide expired keys.)

use std::sync::Weak;

use ringcache_replication::LeaderView;
use serde_bytes::ByteBuf;

use super::Cluster;
use super::machine::PartitionCommand;
use crate::expiry::{SWEEP_BUDGET_PER_SHARD, SWEEP_INTERVAL};
use crate::shared::Shared;
use crate::store::unix_ms;

/// Runs until the node shuts down.
pub async fn run(cluster: Weak<Cluster>, shared: Weak<Shared>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let (Some(cluster), Some(shared)) = (cluster.upgrade(), shared.upgrade()) else {
            return;
        };
        let Some(count) = cluster.partition_count() else {
            continue;
        };
        for partition in cluster.host().hosted_groups() {
            if cluster.host().leader(partition) != Some(LeaderView::ThisHost) {
                continue;
            }
            let now_ms = unix_ms();
            let keys = shared.keyspace.expired_in(
                count.slots_of(partition),
                now_ms,
                SWEEP_BUDGET_PER_SHARD,
            );
            if keys.is_empty() {
                continue;
            }
            let command = PartitionCommand::ExpireDue {
                now_ms,
                keys: keys.iter().map(|key| ByteBuf::from(key.to_vec())).collect(),
            };
            match cluster.host().propose(partition, &command).await {
                Ok(_) => {
                    cluster
                        .counters
                        .expired_proposed
                        .fetch_add(keys.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Err(error) => tracing::debug!(partition, %error, "expiry proposal failed"),
            }
        }
    }
}
