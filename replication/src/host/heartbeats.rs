//! One heartbeat round for all the groups this host leads.

use std::sync::{Arc, Weak};

use openraft::ServerState;
use openraft::type_config::async_runtime::watch::WatchReceiver;

use super::{Group, HostInner};
use crate::StateMachine;

/// Every heartbeat interval, makes every group this host leads send its heartbeats at the same
/// moment (openraft's own heartbeats are off): each group's Raft instance ticks on its own
/// phase, so left alone 64 groups send 64 separate messages per peer per interval; sent
/// together, the transport's writer puts all of them to one peer into one write, and the peer
/// reads them with one read.
pub(super) async fn send_heartbeats_together<S: StateMachine>(host: Weak<HostInner<S>>) {
    let Some(interval) = host.upgrade().map(|inner| inner.config.heartbeat_interval) else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = host.upgrade() else { return };
        if *inner.shutdown.borrow() {
            return;
        }
        let leading: Vec<Arc<Group<S>>> = inner
            .groups
            .read()
            .values()
            .filter(|hosted| hosted.raft.metrics().borrow_watched().state == ServerState::Leader)
            .cloned()
            .collect();
        drop(inner);
        for hosted in leading {
            // Returns once the command is queued to the group's core task.
            let _ = hosted.raft.trigger().heartbeat().await;
        }
    }
}
