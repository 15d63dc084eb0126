//! Idle polling: after the process handled a message, its runtime keeps polling for the next
//! one for a short window instead of going to sleep at once.
//!
//! A replicated write crosses three processes and waits on the network four times; each time
//! a process sleeps, waking it costs tens of microseconds (a halted virtual CPU costs most).
//! Polling briefly after activity keeps a busy member awake between the steps of a write, the
//! way Seastar's reactor polls for `--idle-poll-time-us` before sleeping. After the window the
//! poller sleeps until the next activity: an idle member burns nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

struct IdlePoller {
    epoch: Instant,
    window: Duration,
    /// Nanoseconds since `epoch` of the last activity; [`NO_ACTIVITY_YET`] before the first.
    last_activity: AtomicU64,
    wake: Notify,
}

static POLLER: OnceLock<IdlePoller> = OnceLock::new();

/// `last_activity` before any activity. Not 0, which would read as "activity when polling
/// started": requests arriving within the first window would then never wake the poller.
const NO_ACTIVITY_YET: u64 = u64::MAX;

/// Starts the poller on the current Tokio runtime (once per process; later calls do nothing).
/// A zero window disables it. Process-wide on purpose: there is one runtime to keep awake, and
/// every listener (clients, cluster bus) reports to it.
pub fn start_idle_polling(window: Duration) {
    if window.is_zero() {
        return;
    }
    let poller = IdlePoller {
        epoch: Instant::now(),
        window,
        last_activity: AtomicU64::new(NO_ACTIVITY_YET),
        wake: Notify::new(),
    };
    if POLLER.set(poller).is_err() {
        return;
    }
    tokio::spawn(async {
        let Some(poller) = POLLER.get() else { return };
        loop {
            poller.wake.notified().await;
            // Yielding lets every other task run and the runtime check its sockets (a yielded
            // task runs again only after the I/O driver was polled without blocking).
            while poller.since_activity() < poller.window {
                tokio::task::yield_now().await;
            }
        }
    });
}

/// Records activity (a client request or a cluster message arrived): the poller keeps the
/// runtime awake for its window. Costs two atomic operations when polling is on, one load when off.
pub fn note_activity() {
    if let Some(poller) = POLLER.get() {
        let now = poller.epoch.elapsed().as_nanos() as u64;
        let before = poller.last_activity.swap(now, Ordering::Relaxed);
        if before == NO_ACTIVITY_YET
            || now.saturating_sub(before) >= poller.window.as_nanos() as u64
        {
            // The poller may be asleep: wake it.
            poller.wake.notify_one();
        }
    }
}

impl IdlePoller {
    fn since_activity(&self) -> Duration {
        let last = self.last_activity.load(Ordering::Relaxed);
        if last == NO_ACTIVITY_YET {
            return Duration::MAX;
        }
        let now = self.epoch.elapsed().as_nanos() as u64;
        Duration::from_nanos(now.saturating_sub(last))
    }
}
