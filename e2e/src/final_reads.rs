//! After a workload stops: read every key once more and check that it holds its last acknowledged
//! value, then check the whole history with those reads appended.
//!
//! "Last acknowledged" with concurrency and unknown outcomes is a set, not one value:
//!
//! ```text
//!  acknowledged write W is still a candidate  ⇔  no other acknowledged write started after W ended
//!  a write of unknown outcome is a candidate  (it may land any time after it was sent, or never)
//!  "absent" is a candidate                    ⇔  no write was acknowledged (keys start absent)
//! ```
//!
//! A DEL is a write of "absent". The set check names the key and the values in the failure message;
//! the linearizability check of the extended history is the exact verdict.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::linearizability::{Operation, Record, Verdict, check};
use crate::workload::{Failure, classify};

/// The value of every key read after the load stopped (`None`: absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinalReads {
    pub values: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl FinalReads {
    /// Reads `keys` through `endpoint` (a plain connection: the node forwards), retrying answers
    /// that say "not now" (`-TRYAGAIN`, `-CLUSTERDOWN`, a lost connection) until `timeout`.
    pub async fn read(endpoint: &str, keys: &[Vec<u8>], timeout: Duration) -> Result<Self, String> {
        let deadline = Instant::now() + timeout;
        let client = redis::Client::open(format!("redis://{endpoint}/"))
            .map_err(|error| format!("{endpoint}: {error}"))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(5));
        let mut connection = None;
        let mut values = BTreeMap::new();
        for key in keys {
            loop {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "final read of {} through {endpoint} did not succeed within {timeout:?}",
                        String::from_utf8_lossy(key)
                    ));
                }
                if connection.is_none() {
                    connection = client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .ok();
                }
                let Some(open) = connection.as_mut() else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                let result: redis::RedisResult<Option<Vec<u8>>> =
                    redis::cmd("GET").arg(key).query_async(open).await;
                match result {
                    Ok(value) => {
                        values.insert(key.clone(), value);
                        break;
                    }
                    Err(error) => match classify(&error) {
                        Failure::Unexpected(text) => {
                            return Err(format!(
                                "final read of {}: {text}",
                                String::from_utf8_lossy(key)
                            ));
                        }
                        Failure::Unknown => connection = None,
                        Failure::NotApplied | Failure::Moved(_) => {}
                    },
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(FinalReads { values })
    }

    /// Every read key holds one of its candidate values ([`final_candidates`]), and the history
    /// with the final reads appended (after everything else) is linearizable. CPU-bound: run it
    /// on a blocking thread.
    pub fn verify(&self, history: &[Record]) -> Result<(), String> {
        let mut by_key: BTreeMap<&[u8], Vec<&Record>> = BTreeMap::new();
        for record in history {
            by_key.entry(&record.key).or_default().push(record);
        }
        let mut wrong = Vec::new();
        for (key, value) in &self.values {
            let records = by_key.get(key.as_slice()).map_or(&[][..], Vec::as_slice);
            // A counter's value is no written value: the exact check below covers such keys.
            let counter = records
                .iter()
                .any(|record| matches!(record.operation, Operation::Increment { .. }));
            if counter {
                continue;
            }
            let candidates = final_candidates(records);
            if !candidates.contains(value) {
                wrong.push(format!(
                    "{}: final read {:?}, expected one of {:?}",
                    String::from_utf8_lossy(key),
                    value.as_deref().map(String::from_utf8_lossy),
                    candidates
                        .iter()
                        .map(|candidate| candidate.as_deref().map(String::from_utf8_lossy))
                        .collect::<Vec<_>>()
                ));
            }
        }
        if !wrong.is_empty() {
            return Err(format!(
                "{} keys lost their last acknowledged value: {}",
                wrong.len(),
                wrong[..wrong.len().min(10)].join("; ")
            ));
        }
        let end = history
            .iter()
            .map(|record| record.completed_at.unwrap_or(record.invoked_at))
            .max()
            .unwrap_or(0);
        let mut extended = history.to_vec();
        extended.extend(self.values.iter().map(|(key, value)| Record {
            key: key.clone(),
            operation: Operation::Read(value.clone()),
            invoked_at: end + 1,
            completed_at: Some(end + 2),
        }));
        match check(&extended) {
            Verdict::Linearizable => Ok(()),
            Verdict::Violation { key, operations } => Err(format!(
                "the history of {} is not linearizable ({} operations, last 20: {:?})",
                String::from_utf8_lossy(&key),
                operations.len(),
                &operations[operations.len().saturating_sub(20)..]
            )),
            Verdict::Inconclusive { key } => Err(format!(
                "the linearizability search gave up on {}",
                String::from_utf8_lossy(&key)
            )),
        }
    }
}

/// The values a read after every operation in `records` (one key's, without increments) may
/// return.
pub fn final_candidates(records: &[&Record]) -> Vec<Option<Vec<u8>>> {
    // (value written, invoked at, completed at: `None` for an unknown outcome)
    type Write<'a> = (&'a Option<Vec<u8>>, u64, Option<u64>);
    let writes: Vec<Write> = records
        .iter()
        .filter_map(|record| match &record.operation {
            Operation::Write(value) => Some((value, record.invoked_at, record.completed_at)),
            Operation::Read(_) | Operation::Increment { .. } => None,
        })
        .collect();
    let acknowledged: Vec<(&Option<Vec<u8>>, u64, u64)> = writes
        .iter()
        .filter_map(|&(value, invoked, completed)| Some((value, invoked, completed?)))
        .collect();
    let mut candidates: Vec<Option<Vec<u8>>> = Vec::new();
    let mut add = |value: &Option<Vec<u8>>| {
        if !candidates.contains(value) {
            candidates.push(value.clone());
        }
    };
    if acknowledged.is_empty() {
        add(&None);
    }
    for &(value, _, completed) in &acknowledged {
        let superseded = acknowledged
            .iter()
            .any(|&(_, other_invoked, _)| other_invoked > completed);
        if !superseded {
            add(value);
        }
    }
    for &(value, _, completed) in &writes {
        if completed.is_none() {
            add(value);
        }
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(value: Option<&str>, invoked_at: u64, completed_at: Option<u64>) -> Record {
        Record {
            key: b"k".to_vec(),
            operation: Operation::Write(value.map(|v| v.as_bytes().to_vec())),
            invoked_at,
            completed_at,
        }
    }

    fn candidates(records: &[Record]) -> Vec<Option<Vec<u8>>> {
        let references: Vec<&Record> = records.iter().collect();
        final_candidates(&references)
    }

    fn value(text: &str) -> Option<Vec<u8>> {
        Some(text.as_bytes().to_vec())
    }

    #[test]
    fn sequential_writes_leave_only_the_last() {
        let history = [write(Some("a"), 0, Some(1)), write(Some("b"), 2, Some(3))];
        assert_eq!(candidates(&history), vec![value("b")]);
    }

    #[test]
    fn a_delete_last_leaves_the_key_absent() {
        let history = [write(Some("a"), 0, Some(1)), write(None, 2, Some(3))];
        assert_eq!(candidates(&history), vec![None]);
    }

    #[test]
    fn concurrent_last_writes_are_both_possible() {
        let history = [write(Some("a"), 0, Some(5)), write(Some("b"), 1, Some(4))];
        assert_eq!(candidates(&history), vec![value("a"), value("b")]);
    }

    #[test]
    fn an_unknown_outcome_may_or_may_not_have_landed() {
        let history = [write(Some("a"), 0, Some(1)), write(Some("b"), 2, None)];
        assert_eq!(candidates(&history), vec![value("a"), value("b")]);
        assert_eq!(candidates(&[]), vec![None]);
        assert_eq!(
            candidates(&[write(Some("x"), 0, None)]),
            vec![None, value("x")]
        );
    }

    #[test]
    fn a_lost_acknowledged_write_fails_verification() {
        let history = vec![write(Some("a"), 0, Some(1)), write(Some("b"), 2, Some(3))];
        let mut finals = FinalReads::default();
        finals.values.insert(b"k".to_vec(), value("b"));
        assert_eq!(finals.verify(&history), Ok(()));
        finals.values.insert(b"k".to_vec(), value("a"));
        let error = finals.verify(&history).unwrap_err();
        assert!(
            error.contains("lost their last acknowledged value"),
            "{error}"
        );
        finals.values.insert(b"k".to_vec(), None);
        assert!(finals.verify(&history).is_err());
    }

    #[test]
    fn verification_also_catches_a_stale_read_inside_the_history() {
        let history = vec![
            write(Some("a"), 0, Some(1)),
            write(Some("b"), 2, Some(3)),
            Record {
                key: b"k".to_vec(),
                operation: Operation::Read(value("a")),
                invoked_at: 4,
                completed_at: Some(5),
            },
            write(Some("c"), 6, Some(7)),
        ];
        let mut finals = FinalReads::default();
        finals.values.insert(b"k".to_vec(), value("c"));
        let error = finals.verify(&history).unwrap_err();
        assert!(error.contains("not linearizable"), "{error}");
    }
}
