//! Histories of 10 000 operations from 10 concurrent clients, from a simulated store: spread over 50
//! keys, and on 1 to 3 hot keys with 10 % of replies lost; and two with a bug on a hot key (a lost
//! INCR, a stale read), which must be found. They must check in seconds in a debug build; since
//! machines are noisy, the tests bound the search steps (deterministic: the histories come from
//! fixed seeds) and print the wall time:
//!
//! ```text
//! cargo test -p ringcache-checker --release --test scale -- --nocapture
//! ```

mod common;

use std::time::Instant;

use common::{Command, KeyUse, Planned, Workload, simulate};
use ringcache_checker::{DEFAULT_MAX_STEPS, Operation, Record, Report, Verdict, check_report};

/// Checks `history`, prints what it took, and returns the report.
fn timed(name: &str, history: &[Record]) -> Report {
    let unknown = history
        .iter()
        .filter(|record| record.completed_at.is_none())
        .count();
    let started = Instant::now();
    let report = check_report(history, DEFAULT_MAX_STEPS);
    let elapsed = started.elapsed();
    let verdict = match &report.verdict {
        Verdict::Linearizable => "linearizable".to_string(),
        Verdict::Violation { key, operations } => format!(
            "violation on {} ({} operations)",
            String::from_utf8_lossy(key),
            operations.len()
        ),
        Verdict::Inconclusive { key } => {
            format!("inconclusive on {}", String::from_utf8_lossy(key))
        }
    };
    println!(
        "{name}: {} operations ({unknown} of unknown outcome), {} keys checked: {verdict} in \
         {elapsed:.2?}, {} steps (at most {} on one key)",
        history.len(),
        report.keys,
        report.steps,
        report.max_key_steps
    );
    report
}

fn workload(keys: Vec<KeyUse>, unknown_percent: u64, seed: u64) -> Workload {
    Workload {
        clients: 10,
        operations: 10_000,
        keys,
        unknown_percent,
        seed,
    }
}

fn assert_linearizable(name: &str, workload: Workload, max_steps: u64) {
    let history = simulate(&workload.plan());
    let report = timed(name, &history);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert!(
        report.steps <= max_steps,
        "{name}: {} steps, expected at most {max_steps}",
        report.steps
    );
}

#[test]
fn scale_fifty_keys() {
    let keys = (0..50)
        .map(|index| [KeyUse::Register, KeyUse::Counter, KeyUse::Mixed][index % 3])
        .collect();
    assert_linearizable("50 keys, 5 % unknown", workload(keys, 5, 1), 100_000);
}

#[test]
fn scale_three_hot_keys() {
    let keys = vec![KeyUse::Register, KeyUse::Counter, KeyUse::Mixed];
    assert_linearizable("3 hot keys, 10 % unknown", workload(keys, 10, 2), 500_000);
}

#[test]
fn scale_one_hot_counter() {
    let keys = vec![KeyUse::Counter];
    assert_linearizable(
        "1 hot counter, 10 % unknown",
        workload(keys, 10, 3),
        10_000_000,
    );
}

#[test]
fn scale_one_hot_register() {
    let keys = vec![KeyUse::Register];
    assert_linearizable(
        "1 hot register, 10 % unknown",
        workload(keys, 10, 4),
        1_500_000,
    );
}

#[test]
fn scale_one_hot_mixed_key() {
    let keys = vec![KeyUse::Mixed];
    assert_linearizable(
        "1 hot mixed key, 10 % unknown",
        workload(keys, 10, 7),
        10_000_000,
    );
}

/// The middle one of the planned operations matching `select`.
fn middle(plan: &[Planned], select: impl Fn(&Planned) -> bool) -> usize {
    let candidates: Vec<usize> = (0..plan.len())
        .filter(|&index| select(&plan[index]))
        .collect();
    candidates[candidates.len() / 2]
}

#[test]
fn scale_a_lost_increment_on_a_hot_counter_is_caught() {
    // Three hot keys; on the INCR-only one, values only go up, so once an acknowledged INCR is not
    // applied every later reply on it is too small: a definite violation, found after ruling out
    // every order (and every choice of unknown outcomes) up to it.
    let mut plan = workload(vec![KeyUse::Register, KeyUse::Incr, KeyUse::Mixed], 10, 5).plan();
    let lost = middle(&plan, |planned| {
        planned.key == b"key1" && planned.command == Command::IncrBy(1) && !planned.reply_lost
    });
    plan[lost].bug = true;
    let report = timed("3 hot keys, an INCR lost", &simulate(&plan));
    match &report.verdict {
        Verdict::Violation { key, .. } => assert_eq!(key, b"key1"),
        verdict => panic!("{verdict:?}"),
    }
    assert!(report.steps <= 500_000, "{} steps", report.steps);
}

#[test]
fn scale_a_stale_read_on_a_hot_register_is_caught() {
    let plan = workload(vec![KeyUse::Register], 10, 6).plan();
    let mut history = simulate(&plan);
    let completed = |record: &Record| record.completed_at.is_some();
    let is_write = |record: &Record| matches!(record.operation, Operation::Write(_));
    // A read in the middle returns the value of a SET that an acknowledged write invoked after it
    // ended had replaced before the read began: values are unique, so that is a stale read.
    let read = middle_record(&history, |record| {
        completed(record) && matches!(record.operation, Operation::Read(_))
    });
    let read_call = history[read].invoked_at;
    let overwritten_by = |earlier: &Record| {
        history.iter().any(|later| {
            is_write(later)
                && completed(later)
                && later.invoked_at > earlier.completed_at.unwrap_or(u64::MAX)
                && later.completed_at < Some(read_call)
        })
    };
    let stale = history
        .iter()
        .filter(|record| {
            completed(record)
                && matches!(record.operation, Operation::Write(Some(_)))
                && overwritten_by(record)
        })
        .max_by_key(|record| record.completed_at)
        .expect("an overwritten SET")
        .operation
        .clone();
    let Operation::Write(value) = stale else {
        unreachable!()
    };
    history[read].operation = Operation::Read(value);
    let report = timed("1 hot register, a stale read", &history);
    assert!(
        matches!(report.verdict, Verdict::Violation { .. }),
        "{:?}",
        report.verdict
    );
    assert!(report.steps <= 15_000_000, "{} steps", report.steps);
}

/// The middle one of the records matching `select`.
fn middle_record(history: &[Record], select: impl Fn(&Record) -> bool) -> usize {
    let candidates: Vec<usize> = (0..history.len())
        .filter(|&index| select(&history[index]))
        .collect();
    candidates[candidates.len() / 2]
}
