//! Redis's instantaneous figures (`instantaneous_ops_per_sec`, `instantaneous_input_kbps`,
//! `instantaneous_output_kbps`): a background task reads the totals every 100 ms and keeps the
//! rate of each of the last 16 intervals; the figure is their average, as Redis computes it.
//! The same task follows the memory peak (`used_memory_peak`).

use std::sync::Weak;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::shared::Shared;

/// How often the totals are read (Redis: every cron run at hz 10).
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
/// Intervals averaged (Redis's `STATS_METRIC_SAMPLES`).
const SAMPLES: usize = 16;

/// One figure's recent per-second rates.
#[derive(Debug, Default)]
struct Track {
    last_total: u64,
    rates: [f64; SAMPLES],
    next: usize,
}

impl Track {
    fn sample(&mut self, total: u64, elapsed: Duration) {
        // A total that went down was reset (CONFIG RESETSTAT): that interval counts nothing.
        let delta = total.saturating_sub(self.last_total);
        self.last_total = total;
        let seconds = elapsed.as_secs_f64();
        self.rates[self.next] = if seconds > 0.0 {
            delta as f64 / seconds
        } else {
            0.0
        };
        self.next = (self.next + 1) % SAMPLES;
    }

    fn average(&self) -> f64 {
        self.rates.iter().sum::<f64>() / SAMPLES as f64
    }
}

#[derive(Debug, Default)]
struct Tracks {
    last_at: Option<Instant>,
    ops: Track,
    input: Track,
    output: Track,
}

/// The recent rates of commands and network bytes.
#[derive(Debug, Default)]
pub struct Instantaneous {
    tracks: Mutex<Tracks>,
}

impl Instantaneous {
    /// Records the totals read at `now`.
    pub fn sample(&self, now: Instant, commands: u64, input_bytes: u64, output_bytes: u64) {
        let mut tracks = self.tracks.lock();
        match tracks.last_at {
            None => {
                tracks.ops.last_total = commands;
                tracks.input.last_total = input_bytes;
                tracks.output.last_total = output_bytes;
            }
            Some(last) => {
                let elapsed = now.saturating_duration_since(last);
                tracks.ops.sample(commands, elapsed);
                tracks.input.sample(input_bytes, elapsed);
                tracks.output.sample(output_bytes, elapsed);
            }
        }
        tracks.last_at = Some(now);
    }

    /// Forgets every sample (`CONFIG RESETSTAT`, as Redis resets its samples).
    pub fn reset(&self) {
        *self.tracks.lock() = Tracks::default();
    }

    /// Commands per second over the last 1.6 s.
    pub fn ops_per_sec(&self) -> u64 {
        self.tracks.lock().ops.average().round() as u64
    }

    /// Bytes read from clients, in KiB per second.
    pub fn input_kbps(&self) -> f64 {
        self.tracks.lock().input.average() / 1024.0
    }

    /// Bytes written to clients, in KiB per second.
    pub fn output_kbps(&self) -> f64 {
        self.tracks.lock().output.average() / 1024.0
    }
}

/// Samples every [`SAMPLE_INTERVAL`] until the server is gone.
pub async fn run(shared: Weak<Shared>) {
    let mut interval = tokio::time::interval(SAMPLE_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.stats.sample(&shared.keyspace, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_average_of_the_last_sixteen_intervals() {
        let rates = Instantaneous::default();
        let start = Instant::now();
        rates.sample(start, 0, 0, 0);
        // 100 commands and 2 KiB in each 100 ms interval: 1000/s and 20 KiB/s.
        for step in 1..=SAMPLES as u64 {
            let at = start + SAMPLE_INTERVAL * step as u32;
            rates.sample(at, 100 * step, 2048 * step, 0);
        }
        assert_eq!(rates.ops_per_sec(), 1000);
        assert!((rates.input_kbps() - 20.0).abs() < 0.01);
        assert_eq!(rates.output_kbps(), 0.0);
        // Half the window idle: half the rate.
        for step in 1..=(SAMPLES / 2) as u64 {
            let at = start + SAMPLE_INTERVAL * (SAMPLES as u64 + step) as u32;
            rates.sample(at, 100 * SAMPLES as u64, 2048 * SAMPLES as u64, 0);
        }
        assert_eq!(rates.ops_per_sec(), 500);
    }

    #[test]
    fn a_reset_total_counts_nothing() {
        let rates = Instantaneous::default();
        let start = Instant::now();
        rates.sample(start, 1_000_000, 0, 0);
        rates.sample(start + SAMPLE_INTERVAL, 0, 0, 0);
        assert_eq!(rates.ops_per_sec(), 0);
        rates.sample(start + SAMPLE_INTERVAL * 2, 1000, 0, 0);
        assert!(rates.ops_per_sec() > 0);
        rates.reset();
        assert_eq!(rates.ops_per_sec(), 0);
    }
}
