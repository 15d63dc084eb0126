//! `ringcache-chaos`: the nemesis runner (see `ringcache_e2e::chaos`). Starts a cluster of real
//! `ringcache-node` processes behind fault proxies, runs a recorded load while a seeded schedule
//! of faults hits it, then checks every operation. Exit status 0: linearizable and available
//! again after the heal; 1: a check failed; 2: the run could not be carried out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ringcache_e2e::chaos::{ChaosOptions, run};
use ringcache_e2e::local::sibling_binary;

/// Fault injection with checked histories.
#[derive(Debug, Parser)]
#[command(name = "ringcache-chaos", version)]
struct Cli {
    /// Seed of the fault schedule; a failed run prints it, and the same seed replays the schedule.
    /// Default: drawn from the clock.
    #[arg(long)]
    seed: Option<u64>,
    /// How long faults are injected, with a unit: 90s, 5m, 30m, 1h.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Cluster members (3 or more; 5 adds bridge partitions).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(3..=9))]
    members: u16,
    /// Partitions of the cluster.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    partitions: u32,
    /// Data directories and member logs; default: a directory under the system's temp dir.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Where to write the history if a check fails; default: history.jsonl in the work dir (JSON lines, for ringcache-check).
    #[arg(long)]
    history_file: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: write 90s, 5m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use s, m or h")),
    };
    if seconds == 0 {
        return Err("the duration must be more than zero".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let seed = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64)
    });
    let work_dir = cli
        .work_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("ringcache-chaos-{seed}")));
    let options = ChaosOptions {
        seed,
        duration: cli.duration,
        members: usize::from(cli.members),
        partitions: cli.partitions,
        node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
        history_file: Some(
            cli.history_file
                .unwrap_or_else(|| work_dir.join("history.jsonl")),
        ),
        work_dir,
    };
    eprintln!(
        "ringcache-chaos: seed {seed}, {} members, {} partitions, faults for {:?}; files in {}",
        options.members,
        options.partitions,
        options.duration,
        options.work_dir.display()
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ringcache-chaos: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&options, |line| eprintln!("{line}"))) {
        Ok(report) => {
            println!("{}", report.summary());
            if report.verdict.is_ok() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "replay with: ringcache-chaos --seed {seed} --duration {}s --members {} --partitions {}",
                    options.duration.as_secs(),
                    options.members,
                    options.partitions
                );
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("ringcache-chaos: {error}");
            ExitCode::from(2)
        }
    }
}
