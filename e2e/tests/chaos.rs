//! The nemesis in CI: short runs of `ringcache_e2e::chaos` against real members behind fault
//! proxies, for a fixed set of seeds (regressions stay caught) and one new seed per run (new
//! schedules get tried). Every run must end linearizable and serving again after the heal. A
//! failing seed is printed; replay it with `scripts/chaos.sh --seed N --duration 45s`.

use std::time::Duration;

use ringcache_e2e::chaos::{ChaosOptions, run};
use ringcache_e2e::local::sibling_binary;

/// Seeds every CI run repeats.
const FIXED_SEEDS: [u64; 2] = [1, 2];
const DURATION: Duration = Duration::from_secs(45);

async fn run_seed(seed: u64) -> Result<String, String> {
    let work_dir = std::env::temp_dir().join(format!(
        "ringcache-chaos-test-{}-{seed}",
        std::process::id()
    ));
    let options = ChaosOptions {
        seed,
        duration: DURATION,
        members: 3,
        partitions: 8,
        node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
        history_file: Some(work_dir.with_extension("history.jsonl")),
        work_dir: work_dir.clone(),
    };
    let report = run(&options, |line| eprintln!("[seed {seed}] {line}"))
        .await
        .map_err(|error| format!("seed {seed}: the run could not be carried out: {error}"))?;
    let summary = report.summary();
    eprintln!("{summary}");
    match report.verdict {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&work_dir);
            Ok(summary)
        }
        Err(_) => Err(format!("{summary}\n(files kept in {})", work_dir.display())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_and_new_seeds_stay_linearizable_under_faults() {
    let new_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(3, |since| since.as_nanos() as u64);
    let mut failures = Vec::new();
    for seed in FIXED_SEEDS.into_iter().chain([new_seed]) {
        if let Err(failure) = run_seed(seed).await {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
