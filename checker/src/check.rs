//! Checking a whole history: key by key, with a step budget, into a [`Verdict`].

use std::collections::BTreeMap;
use std::fmt;

use crate::history::{Operation, Quoted, Record};
use crate::search::{KeyVerdict, check_key};

/// The step budget of [`check`], per key: far more than any history of the test suites needs (see
/// the crate's scale tests), small enough to end in minutes on a pathological one.
pub const DEFAULT_MAX_STEPS: u64 = 50_000_000;

/// The verdict on a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's history is linearizable.
    Linearizable,
    /// This key's history is not: no order of its operations explains what clients saw.
    Violation {
        /// The key whose history cannot be linearized.
        key: Vec<u8>,
        /// Its operations, in invocation order, for the failure message.
        operations: Vec<Record>,
    },
    /// The search gave up on this key after the step budget, and found no violation on any other
    /// key: nothing is known about this key's history (it is neither accepted nor rejected).
    Inconclusive {
        /// The (first) key the search gave up on.
        key: Vec<u8>,
    },
}

/// A verdict with what it took to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The verdict: a violation on any key wins over keys the search gave up on.
    pub verdict: Verdict,
    /// Keys checked (the check stops at the first violation).
    pub keys: usize,
    /// Search steps taken, over all keys checked.
    pub steps: u64,
    /// The most steps one key took.
    pub max_key_steps: u64,
    /// Every key the search gave up on.
    pub inconclusive: Vec<Vec<u8>>,
}

/// Checks a history, key by key, giving up on a key after [`DEFAULT_MAX_STEPS`] search steps.
pub fn check(history: &[Record]) -> Verdict {
    check_with_budget(history, DEFAULT_MAX_STEPS)
}

/// Checks a history, giving up on a key after `max_steps` search steps.
pub fn check_with_budget(history: &[Record], max_steps: u64) -> Verdict {
    check_report(history, max_steps).verdict
}

/// Checks a history, giving up on a key after `max_steps` search steps, and reports the steps taken.
pub fn check_report(history: &[Record], max_steps: u64) -> Report {
    let mut by_key: BTreeMap<&[u8], Vec<&Record>> = BTreeMap::new();
    for record in history {
        // A read whose reply never came constrains nothing.
        if matches!(record.operation, Operation::Read(_)) && record.completed_at.is_none() {
            continue;
        }
        by_key.entry(&record.key).or_default().push(record);
    }
    let mut report = Report {
        verdict: Verdict::Linearizable,
        keys: 0,
        steps: 0,
        max_key_steps: 0,
        inconclusive: Vec::new(),
    };
    for (key, records) in by_key {
        let outcome = check_key(&records, max_steps);
        report.keys += 1;
        report.steps += outcome.steps;
        report.max_key_steps = report.max_key_steps.max(outcome.steps);
        match outcome.verdict {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Violation => {
                let mut operations: Vec<Record> = records.into_iter().cloned().collect();
                operations.sort_by_key(|record| record.invoked_at);
                report.verdict = Verdict::Violation {
                    key: key.to_vec(),
                    operations,
                };
                return report;
            }
            KeyVerdict::Inconclusive => report.inconclusive.push(key.to_vec()),
        }
    }
    if let Some(key) = report.inconclusive.first() {
        report.verdict = Verdict::Inconclusive { key: key.clone() };
    }
    report
}

/// `linearizable`, or the violating key and its operations one per line, or the key given up on.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => write!(f, "linearizable"),
            Verdict::Violation { key, operations } => {
                write!(
                    f,
                    "not linearizable: no order of the {} operations on {} explains what clients saw \
                     ([invoked, completed] in invocation order):",
                    operations.len(),
                    Quoted(key)
                )?;
                for record in operations {
                    match record.completed_at {
                        Some(completed_at) => {
                            write!(f, "\n  [{}, {}]", record.invoked_at, completed_at)?
                        }
                        None => write!(f, "\n  [{}, ?)", record.invoked_at)?,
                    }
                    write!(f, " {}", record.operation)?;
                    if record.completed_at.is_none() {
                        write!(f, " (outcome unknown)")?;
                    }
                }
                Ok(())
            }
            Verdict::Inconclusive { key } => write!(
                f,
                "inconclusive: the search gave up on {} after its step budget (no violation found \
                 on the other keys)",
                Quoted(key)
            ),
        }
    }
}
