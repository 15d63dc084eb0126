//! The search against the brute-force checker ([`ringcache_checker::brute`]) on small random
//! histories of SET/GET/DEL/INCRBY over two keys: the verdicts must agree on every one.
//!
//! The histories (2 to 8 operations, registers, counters or both, 10 to 60 % of replies lost) come
//! from a simulated store, so they start linearizable; then 9 in 10 are tampered with: a read's
//! value or an increment's reply changed, an interval shrunk, an acknowledged write or increment
//! not applied. Tampering does not always break linearizability, which is the point: the generator
//! produces both verdicts, near the boundary. The test prints the ratio (about 70 % linearizable,
//! 30 % violations) and fails if either verdict is rarer than one history in four.
//! `CROSS_CHECK_CASES` sets the number of histories (10 000 by default).

mod common;

use std::cell::Cell;

use common::{Command, Planned, simulate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use ringcache_checker::{Operation, Record, Verdict, brute, check};

const VALUES: [&str; 7] = ["0", "1", "2", "5", "x", "y", "01"];
const AMOUNTS: [i64; 5] = [1, 1, 2, -1, 5];

/// One planned operation: (key, command, value or amount, start, length, where in the interval it
/// takes effect in %, reply lost, applied when lost).
type Spec = (bool, u8, usize, u64, u64, u64, bool, bool);

/// How to tamper with the simulated history: (whether, how, which operation, new value).
type Tamper = (bool, u8, prop::sample::Index, usize);

/// Which commands a history uses.
#[derive(Debug, Clone, Copy)]
enum Mix {
    /// GET, SET, DEL.
    Register,
    /// GET, INCRBY, some SET of numbers, some DEL.
    Counter,
    /// Everything.
    Mixed,
}

fn spec(unknown: f64) -> impl Strategy<Value = Spec> {
    (
        prop::bool::weighted(0.2),
        0u8..20,
        0..VALUES.len(),
        0u64..12,
        0u64..8,
        0u64..=100,
        prop::bool::weighted(unknown),
        any::<bool>(),
    )
}

fn history() -> impl Strategy<Value = (Mix, Vec<Spec>, Tamper)> {
    let mix = prop_oneof![Just(Mix::Register), Just(Mix::Counter), Just(Mix::Mixed)];
    (mix, prop_oneof![Just(0.1), Just(0.3), Just(0.6)]).prop_flat_map(|(mix, unknown)| {
        (
            Just(mix),
            prop::collection::vec(spec(unknown), 2..=8),
            (
                prop::bool::weighted(0.9),
                0u8..4,
                any::<prop::sample::Index>(),
                0..VALUES.len() + 3,
            ),
        )
    })
}

fn plan(mix: Mix, specs: &[Spec]) -> Vec<Planned> {
    specs
        .iter()
        .map(
            |&(other_key, draw, choice, start, length, effect, reply_lost, applied)| {
                let set = |choice: usize| Command::Set(VALUES[choice].as_bytes().to_vec());
                let increment = Command::IncrBy(AMOUNTS[choice % AMOUNTS.len()]);
                let command = match (mix, draw) {
                    (_, 0..8) => Command::Get,
                    (Mix::Register, 8..16) => set(choice),
                    (Mix::Register, _) => Command::Del,
                    (Mix::Counter, 8..17) => increment,
                    // The numbers only.
                    (Mix::Counter, 17..19) => set(choice % 4),
                    (Mix::Counter, _) => Command::Del,
                    (Mix::Mixed, 8..13) => set(choice),
                    (Mix::Mixed, 13..15) => Command::Del,
                    (Mix::Mixed, _) => increment,
                };
                // A lost reply's effect may land after the client gave up.
                let reach = if reply_lost { 3 * length } else { length };
                Planned {
                    key: if other_key {
                        b"b".to_vec()
                    } else {
                        b"a".to_vec()
                    },
                    command,
                    invoked_at: start,
                    completed_at: start + length,
                    effect_at: start + reach * effect / 100,
                    reply_lost,
                    applied,
                    bug: false,
                }
            },
        )
        .collect()
}

fn tamper(plan: &mut [Planned], history: &mut Vec<Record>, how: &Tamper) {
    let &(enabled, kind, which, value) = how;
    if !enabled || history.is_empty() {
        return;
    }
    let indices = |history: &[Record], select: fn(&Record) -> bool| -> Vec<usize> {
        (0..history.len())
            .filter(|&index| select(&history[index]))
            .collect()
    };
    let reads = indices(history, |record| {
        matches!(record.operation, Operation::Read(_)) && record.completed_at.is_some()
    });
    let increments = indices(history, |record| {
        matches!(
            record.operation,
            Operation::Increment {
                result: Some(_),
                ..
            }
        )
    });
    let effects: Vec<usize> = (0..plan.len())
        .filter(|&index| plan[index].command != Command::Get && !plan[index].reply_lost)
        .collect();
    // The kind asked for, or the next one that applies to this history.
    let applies = |kind: u8| match kind {
        0 => !reads.is_empty(),
        1 => !increments.is_empty(),
        2 => true,
        _ => !effects.is_empty(),
    };
    let kind = (0..4)
        .map(|offset| (kind + offset) % 4)
        .find(|&kind| applies(kind))
        .unwrap_or(2);
    match kind {
        // A read returns something else.
        0 => {
            let replacement = |value: usize| match value.checked_sub(VALUES.len()) {
                None => Some(VALUES[value].as_bytes().to_vec()),
                Some(0) => None,
                Some(extra) => Some(format!("{}", extra + 2).into_bytes()),
            };
            let read = &mut history[reads[which.index(reads.len())]].operation;
            let mut value = value;
            while *read == Operation::Read(replacement(value)) {
                value = (value + 1) % (VALUES.len() + 3);
            }
            *read = Operation::Read(replacement(value));
        }
        // An increment replies another number.
        1 => {
            let index = increments[which.index(increments.len())];
            if let Operation::Increment {
                result: Some(result),
                ..
            } = &mut history[index].operation
            {
                *result += [-2, -1, 1, 2][value % 4];
            }
        }
        // An operation is said to have ended sooner than it did.
        2 => {
            let index = which.index(history.len());
            let record = &mut history[index];
            if let Some(completed_at) = &mut record.completed_at {
                *completed_at = record.invoked_at + (*completed_at - record.invoked_at) / 2;
            }
        }
        // A buggy store: an acknowledged write or increment is not applied.
        _ => {
            plan[effects[which.index(effects.len())]].bug = true;
            *history = simulate(plan);
        }
    }
}

#[test]
fn the_search_agrees_with_brute_force() {
    let cases = std::env::var("CROSS_CHECK_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(10_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let (linearizable, violating) = (Cell::new(0u32), Cell::new(0u32));
    // Linearizable only thanks to an operation of unknown outcome taking effect.
    let needs_unknown = Cell::new(0u32);
    runner
        .run(&history(), |(mix, specs, how)| {
            let mut plan = plan(mix, &specs);
            let mut history = simulate(&plan);
            tamper(&mut plan, &mut history, &how);
            let expected = brute::is_linearizable(&history).expect("at most 8 operations");
            let verdict = check(&history);
            let agrees = match &verdict {
                Verdict::Linearizable => expected,
                Verdict::Violation { .. } => !expected,
                Verdict::Inconclusive { .. } => false,
            };
            if !agrees {
                let lines: Vec<String> = history.iter().map(ToString::to_string).collect();
                return Err(TestCaseError::fail(format!(
                    "brute force says {}, the search {verdict}\n{}",
                    if expected {
                        "linearizable"
                    } else {
                        "violation"
                    },
                    lines.join("\n")
                )));
            }
            if expected {
                let known: Vec<Record> = history
                    .iter()
                    .filter(|record| record.completed_at.is_some())
                    .cloned()
                    .collect();
                if brute::is_linearizable(&known) == Some(false) {
                    needs_unknown.set(needs_unknown.get() + 1);
                }
            }
            let counter = if expected { &linearizable } else { &violating };
            counter.set(counter.get() + 1);
            Ok(())
        })
        .unwrap();
    let (linearizable, violating) = (linearizable.get(), violating.get());
    let total = linearizable + violating;
    println!(
        "cross-check: {total} histories, {linearizable} linearizable ({:.0} %), {violating} \
         violations ({:.0} %); {} linearizable only if an unknown-outcome operation took effect",
        100.0 * f64::from(linearizable) / f64::from(total),
        100.0 * f64::from(violating) / f64::from(total),
        needs_unknown.get()
    );
    assert!(linearizable * 4 >= total && violating * 4 >= total);
}
