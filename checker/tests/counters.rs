//! Counters (`INCRBY`, `INCR`): histories that must pass and histories that must fail, the Redis
//! model of integers and bytes on one key, and what the verdicts say.

mod common;

use common::{KeyUse, Workload, simulate};
use proptest::prelude::*;
use ringcache_checker::{
    HistoryRecorder, Operation, Record, Verdict, check, check_report, check_with_budget,
};

fn on(key: &str, operation: Operation, invoked_at: u64, completed_at: Option<u64>) -> Record {
    Record {
        key: key.as_bytes().to_vec(),
        operation,
        invoked_at,
        completed_at,
    }
}

fn incr(result: i64, invoked_at: u64, completed_at: u64) -> Record {
    incr_by(1, Some(result), invoked_at, Some(completed_at))
}

fn incr_by(by: i64, result: Option<i64>, invoked_at: u64, completed_at: Option<u64>) -> Record {
    on(
        "n",
        Operation::Increment { by, result },
        invoked_at,
        completed_at,
    )
}

fn get(value: Option<&str>, invoked_at: u64, completed_at: u64) -> Record {
    let value = value.map(|value| value.as_bytes().to_vec());
    on("n", Operation::Read(value), invoked_at, Some(completed_at))
}

fn set(value: &str, invoked_at: u64, completed_at: u64) -> Record {
    let value = Some(value.as_bytes().to_vec());
    on("n", Operation::Write(value), invoked_at, Some(completed_at))
}

fn linearizable(history: &[Record]) -> bool {
    match check(history) {
        Verdict::Linearizable => true,
        Verdict::Violation { .. } => false,
        verdict => panic!("{verdict}"),
    }
}

#[test]
fn increments_count_from_absent_and_reads_see_decimal_bytes() {
    // GET after INCR returns "5", as in Redis.
    let history = [
        incr_by(3, Some(3), 0, Some(1)),
        incr_by(2, Some(5), 2, Some(3)),
        get(Some("5"), 4, 5),
    ];
    assert!(linearizable(&history));
    assert!(!linearizable(&[incr(1, 0, 1), get(Some("01"), 2, 3)]));
    assert!(!linearizable(&[incr(1, 0, 1), get(None, 2, 3)]));
}

#[test]
fn writes_and_increments_mix_on_a_key() {
    // SET "10" then INCR gives 11; DEL starts the count again.
    let history = [
        set("10", 0, 1),
        incr(11, 2, 3),
        on("n", Operation::Write(None), 4, Some(5)),
        incr(1, 6, 7),
    ];
    assert!(linearizable(&history));
    // A value that is not a canonical integer cannot be incremented: a reply proves a bug.
    assert!(!linearizable(&[set("010", 0, 1), incr(11, 2, 3)]));
    assert!(!linearizable(&[set("x", 0, 1), incr(1, 2, 3)]));
    // Nor can one that would overflow.
    let max = i64::MAX.to_string();
    assert!(!linearizable(&[set(&max, 0, 1), incr(i64::MIN, 2, 3)]));
}

#[test]
fn a_lost_increment_is_caught() {
    assert!(!linearizable(&[
        incr(1, 0, 1),
        incr(2, 2, 3),
        incr(2, 4, 5)
    ]));
    assert!(!linearizable(&[
        incr(1, 0, 1),
        incr(2, 2, 3),
        get(Some("1"), 4, 5)
    ]));
}

#[test]
fn a_doubled_increment_is_caught() {
    assert!(!linearizable(&[
        incr(1, 0, 1),
        incr(2, 2, 3),
        get(Some("3"), 4, 5)
    ]));
    assert!(!linearizable(&[incr(1, 0, 1), incr(3, 2, 3)]));
}

#[test]
fn concurrent_increments_may_reply_in_either_order() {
    assert!(linearizable(&[
        incr(2, 0, 10),
        incr(1, 1, 9),
        get(Some("2"), 11, 12)
    ]));
    // ... but not both the same.
    assert!(!linearizable(&[incr(1, 0, 10), incr(1, 1, 9)]));
}

#[test]
fn an_unknown_increment_takes_effect_once_or_never() {
    let unknown = || incr_by(1, None, 2, None);
    // Never, once (even long after), but not twice.
    assert!(linearizable(&[
        incr(1, 0, 1),
        unknown(),
        get(Some("1"), 4, 5)
    ]));
    assert!(linearizable(&[
        incr(1, 0, 1),
        unknown(),
        get(Some("1"), 4, 5),
        get(Some("2"), 100, 101)
    ]));
    assert!(!linearizable(&[
        incr(1, 0, 1),
        unknown(),
        get(Some("3"), 4, 5)
    ]));
    // And not before it was sent.
    assert!(!linearizable(&[get(Some("1"), 0, 1), unknown()]));
    // Once applied, it stays applied.
    assert!(!linearizable(&[
        incr(1, 0, 1),
        unknown(),
        get(Some("2"), 4, 5),
        get(Some("1"), 6, 7)
    ]));
}

#[test]
fn unknown_increments_are_interchangeable_but_each_counts_once() {
    // Forty INCRs lost their reply; the reads say 25 took effect by t=100, then 3 more.
    let mut history: Vec<Record> = (0..40).map(|index| incr_by(1, None, index, None)).collect();
    history.push(get(Some("25"), 100, 101));
    history.push(get(Some("28"), 200, 201));
    assert!(linearizable(&history));
    history.push(get(Some("41"), 300, 301));
    assert!(!linearizable(&history));
}

#[test]
fn a_result_recorded_without_a_reply_is_ignored() {
    let unknown = incr_by(1, Some(7), 2, None);
    assert!(linearizable(&[unknown.clone(), get(Some("1"), 4, 5)]));
    assert!(linearizable(&[unknown, get(None, 4, 5)]));
}

#[test]
fn the_recorder_records_increments() {
    let recorder = HistoryRecorder::new();
    let pending = recorder.invoke_increment(b"n", 5);
    recorder.increment_ok(pending, 5);
    let pending = recorder.invoke_increment(b"n", 1);
    recorder.unknown(pending);
    let pending = recorder.invoke_read(b"n");
    recorder.read_ok(pending, Some(b"6"));
    assert_eq!(check(&recorder.history()), Verdict::Linearizable);
    let pending = recorder.invoke_read(b"n");
    recorder.read_ok(pending, Some(b"7"));
    assert!(matches!(
        check(&recorder.history()),
        Verdict::Violation { .. }
    ));
}

#[test]
fn a_violation_shows_the_key_and_its_operations_in_invocation_order() {
    let history = [incr(2, 4, 5), incr(1, 0, 1), incr_by(1, None, 2, None)];
    let verdict = check(&[history[0].clone(), history[1].clone(), get(Some("1"), 6, 7)]);
    let text = verdict.to_string();
    assert_eq!(
        text,
        "not linearizable: no order of the 3 operations on \"n\" explains what clients saw \
         ([invoked, completed] in invocation order):\n  [0, 1] INCRBY 1 -> 1\n  [4, 5] INCRBY 1 \
         -> 2\n  [6, 7] GET -> \"1\""
    );
    assert!(linearizable(&history));
}

#[test]
fn running_out_of_steps_is_inconclusive_and_a_violation_elsewhere_still_wins() {
    let workload = Workload {
        clients: 10,
        operations: 2_000,
        keys: vec![KeyUse::Counter],
        unknown_percent: 10,
        seed: 11,
    };
    let mut history = simulate(&workload.plan());
    let report = check_report(&history, 1_000);
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive {
            key: b"key0".to_vec()
        }
    );
    assert_eq!(report.inconclusive, vec![b"key0".to_vec()]);
    assert!(report.verdict.to_string().starts_with("inconclusive"));
    // With enough steps it is linearizable.
    assert_eq!(check(&history), Verdict::Linearizable);
    // A violation on a later key beats giving up on an earlier one.
    history.push(on(
        "z",
        Operation::Read(Some(b"never written".to_vec())),
        0,
        Some(1),
    ));
    match check_with_budget(&history, 1_000) {
        Verdict::Violation { key, .. } => assert_eq!(key, b"z"),
        verdict => panic!("{verdict:?}"),
    }
}

proptest! {
    #[test]
    fn histories_of_a_real_counter_are_linearizable(seed in any::<u64>(), unknown in 0u64..30) {
        let workload = Workload {
            clients: 4,
            operations: 200,
            keys: vec![KeyUse::Counter, KeyUse::Mixed],
            unknown_percent: unknown,
            seed,
        };
        let history = simulate(&workload.plan());
        prop_assert_eq!(check(&history), Verdict::Linearizable);
    }

    #[test]
    fn a_lost_increment_in_a_real_counter_is_caught(seed in any::<u64>(), which in any::<prop::sample::Index>()) {
        // Increments only go up and all replies come back: an acknowledged INCR not applied makes
        // every later reply too small (if something comes later).
        let workload = Workload {
            clients: 4,
            operations: 200,
            keys: vec![KeyUse::Incr],
            unknown_percent: 0,
            seed,
        };
        let mut plan = workload.plan();
        let increments: Vec<usize> = (0..plan.len())
            .filter(|&index| matches!(plan[index].command, common::Command::IncrBy(_)))
            .collect();
        let lost = increments[which.index(increments.len())];
        plan[lost].bug = true;
        let seen_later = plan.iter().any(|planned| planned.invoked_at > plan[lost].completed_at);
        prop_assume!(seen_later);
        let history = simulate(&plan);
        let caught = matches!(check(&history), Verdict::Violation { .. });
        prop_assert!(caught);
    }
}
