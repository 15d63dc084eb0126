//! `ringcache-check HISTORY.jsonl`: checks a history file (see the `ringcache_checker` docs for the
//! format) for linearizability.
//!
//! Prints the verdict; on a violation, the key and its operations in invocation order. Exits 0 when the
//! history is linearizable, 1 on a violation, 2 when the search gave up (inconclusive), 3 when the
//! file cannot be read or the arguments are wrong.

use std::process::ExitCode;

use anyhow::{Context, bail};
use ringcache_checker::{DEFAULT_MAX_STEPS, Verdict, check_report, read_history};

const USAGE: &str = "usage: ringcache-check [--max-steps N] HISTORY.jsonl

Checks a history of GET/SET/DEL/INCRBY operations (JSON lines, one record per line) for
linearizability. Exit status: 0 linearizable, 1 violation, 2 inconclusive (the search gave up
after N steps on some key; default 50000000), 3 unreadable file or bad arguments.";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ringcache-check: {error:#}");
            ExitCode::from(3)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut path = None;
    let mut max_steps = DEFAULT_MAX_STEPS;
    let mut arguments = std::env::args_os().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.to_str() {
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            Some("--max-steps") => {
                let value = arguments.next().context("--max-steps needs a number")?;
                max_steps = value
                    .to_str()
                    .and_then(|value| value.parse().ok())
                    .with_context(|| format!("--max-steps: not a number: {value:?}"))?;
            }
            Some(flag) if flag.starts_with('-') && flag != "-" => {
                bail!("unknown option {flag}\n\n{USAGE}")
            }
            _ if path.is_some() => bail!("one history file at a time\n\n{USAGE}"),
            _ => path = Some(argument),
        }
    }
    let Some(path) = path else {
        bail!("no history file given\n\n{USAGE}");
    };
    let history = read_history(&path).context("cannot read the history")?;
    let report = check_report(&history, max_steps);
    println!("{}", report.verdict);
    println!(
        "{} operations, {} keys checked, {} search steps (at most {} on one key)",
        history.len(),
        report.keys,
        report.steps,
        report.max_key_steps
    );
    Ok(match report.verdict {
        Verdict::Linearizable => ExitCode::SUCCESS,
        Verdict::Violation { .. } => ExitCode::from(1),
        Verdict::Inconclusive { .. } => {
            if report.inconclusive.len() > 1 {
                let keys: Vec<String> = report
                    .inconclusive
                    .iter()
                    .map(|key| format!("{:?}", String::from_utf8_lossy(key)))
                    .collect();
                println!("gave up on {} keys: {}", keys.len(), keys.join(", "));
            }
            ExitCode::from(2)
        }
    })
}
