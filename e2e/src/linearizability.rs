//! A linearizability checker for histories of reads and writes on keys, used by the multi-process and
//! end-to-end tests to prove that no acknowledged write is lost and no read is stale.
//!
//! A history is what clients saw: for each operation, when it was invoked, when it completed (or that
//! its outcome is unknown: a timeout, a lost connection) and what it returned. The history is
//! linearizable if every operation can be placed at one instant between its invocation and completion so
//! that the sequence behaves like a single register per key. Keys are independent (a register history is
//! linearizable iff each key's is), so each key is checked alone, which keeps the search small.
//!
//! The search is Wing & Gong's, with Lowe's memoisation of (linearized set, register state), as in
//! porcupine and Knossos:
//!
//! ```text
//!  entries: call/return events in time order, in a doubly linked list
//!  walk the list: at a call, try to linearize that operation now (the register must allow it and the
//!  (set, state) pair must be new); if so, remove its call and return and restart from the head;
//!  at a return, the operation it closes was not linearized before its deadline: undo the last choice
//!  done when no return is left (operations of unknown outcome have no return: they may take effect
//!  at any time after their call, or never)
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

/// What a client asked for and, for reads, what it got.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A read that returned this value (`None`: the key did not exist).
    Read(Option<Vec<u8>>),
    /// A write of this value (`None`: a delete).
    Write(Option<Vec<u8>>),
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The key operated on.
    pub key: Vec<u8>,
    /// The operation and, for a read, its result.
    pub operation: Operation,
    /// When the client sent it (any monotonic unit, the same for the whole history).
    pub invoked_at: u64,
    /// When the client got a definite reply; `None` if the outcome is unknown.
    pub completed_at: Option<u64>,
}

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
    /// The search gave up on this key after the step budget.
    Inconclusive {
        /// The key the search gave up on.
        key: Vec<u8>,
    },
}

/// Checks a history, key by key, with a generous search budget.
pub fn check(history: &[Record]) -> Verdict {
    check_with_budget(history, 50_000_000)
}

/// Checks a history, giving up on a key after `max_steps` search steps.
pub fn check_with_budget(history: &[Record], max_steps: u64) -> Verdict {
    let mut by_key: BTreeMap<&[u8], Vec<&Record>> = BTreeMap::new();
    for record in history {
        // A read whose reply never came constrains nothing.
        if matches!(record.operation, Operation::Read(_)) && record.completed_at.is_none() {
            continue;
        }
        by_key.entry(&record.key).or_default().push(record);
    }
    for (key, records) in by_key {
        match KeySearch::new(&records).run(max_steps) {
            Some(true) => {}
            Some(false) => {
                let mut operations: Vec<Record> = records.into_iter().cloned().collect();
                operations.sort_by_key(|record| record.invoked_at);
                return Verdict::Violation {
                    key: key.to_vec(),
                    operations,
                };
            }
            None => return Verdict::Inconclusive { key: key.to_vec() },
        }
    }
    Verdict::Linearizable
}

/// The register's value, as an interned id (`None`: absent).
type State = Option<u32>;

#[derive(Debug, Clone, Copy)]
enum Step {
    Read(State),
    Write(State),
}

/// One call or return event in the search's linked list.
#[derive(Debug, Clone, Copy)]
struct Event {
    operation: usize,
    is_call: bool,
}

struct KeySearch {
    steps: Vec<Step>,
    /// Index of each operation's call and return event (`None`: unknown outcome).
    call_event: Vec<usize>,
    return_event: Vec<Option<usize>>,
    events: Vec<Event>,
    /// Doubly linked list over `events`; index `events.len()` is the head/tail sentinel.
    next: Vec<usize>,
    previous: Vec<usize>,
}

impl KeySearch {
    fn new(records: &[&Record]) -> Self {
        let mut values: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut intern = |value: &Option<Vec<u8>>| -> State {
            value.as_ref().map(|bytes| {
                let next_id = values.len() as u32;
                *values.entry(bytes.clone()).or_insert(next_id)
            })
        };
        let steps: Vec<Step> = records
            .iter()
            .map(|record| match &record.operation {
                Operation::Read(value) => Step::Read(intern(value)),
                Operation::Write(value) => Step::Write(intern(value)),
            })
            .collect();
        // Time-ordered events; at equal times calls sort first, which treats touching operations as
        // concurrent (the permissive reading: timestamps have finite resolution).
        let mut timed: Vec<(u64, bool, usize)> = Vec::new();
        for (operation, record) in records.iter().enumerate() {
            timed.push((record.invoked_at, true, operation));
            if let Some(completed_at) = record.completed_at {
                timed.push((completed_at.max(record.invoked_at), false, operation));
            }
        }
        timed.sort_by_key(|&(time, is_call, operation)| (time, !is_call, operation));
        let mut call_event = vec![0; records.len()];
        let mut return_event = vec![None; records.len()];
        let events: Vec<Event> = timed
            .iter()
            .enumerate()
            .map(|(index, &(_, is_call, operation))| {
                if is_call {
                    call_event[operation] = index;
                } else {
                    return_event[operation] = Some(index);
                }
                Event { operation, is_call }
            })
            .collect();
        let sentinel = events.len();
        let next = (0..=sentinel)
            .map(|index| if index == sentinel { 0 } else { index + 1 })
            .collect();
        let previous = (0..=sentinel)
            .map(|index| if index == 0 { sentinel } else { index - 1 })
            .collect();
        KeySearch {
            steps,
            call_event,
            return_event,
            events,
            next,
            previous,
        }
    }

    fn unlink(&mut self, event: usize) {
        let (before, after) = (self.previous[event], self.next[event]);
        self.next[before] = after;
        self.previous[after] = before;
    }

    fn relink(&mut self, event: usize) {
        let (before, after) = (self.previous[event], self.next[event]);
        self.next[before] = event;
        self.previous[after] = event;
    }

    /// `Some(linearizable)`, or `None` when the budget ran out.
    fn run(mut self, max_steps: u64) -> Option<bool> {
        let sentinel = self.events.len();
        let operation_count = self.steps.len();
        let mut pending_returns = self
            .return_event
            .iter()
            .filter(|event| event.is_some())
            .count();
        let mut state: State = None;
        let mut linearized = vec![0u64; operation_count.div_ceil(64)];
        let mut seen: HashSet<(Vec<u64>, State)> = HashSet::new();
        let mut choices: Vec<(usize, State)> = Vec::new();
        let mut cursor = self.next[sentinel];
        let mut budget = max_steps;
        while pending_returns > 0 {
            budget = budget.checked_sub(1)?;
            if cursor == sentinel {
                // Only calls without returns are left ahead, and none fits: backtrack.
                let (operation, previous_state) = choices.pop()?;
                cursor = self.undo(operation, &mut linearized, &mut pending_returns);
                state = previous_state;
                continue;
            }
            let event = self.events[cursor];
            if event.is_call {
                let operation = event.operation;
                let after = match self.steps[operation] {
                    Step::Read(observed) => (observed == state).then_some(state),
                    Step::Write(value) => Some(value),
                };
                if let Some(new_state) = after {
                    linearized[operation / 64] |= 1 << (operation % 64);
                    if seen.insert((linearized.clone(), new_state)) {
                        choices.push((operation, state));
                        state = new_state;
                        self.unlink(self.call_event[operation]);
                        if let Some(return_event) = self.return_event[operation] {
                            self.unlink(return_event);
                            pending_returns -= 1;
                        }
                        cursor = self.next[sentinel];
                        continue;
                    }
                    linearized[operation / 64] &= !(1 << (operation % 64));
                }
                cursor = self.next[cursor];
            } else {
                // An operation reached its deadline unlinearized: undo the latest choice.
                let Some((operation, previous_state)) = choices.pop() else {
                    return Some(false);
                };
                cursor = self.undo(operation, &mut linearized, &mut pending_returns);
                state = previous_state;
            }
        }
        Some(true)
    }

    /// Undoes the linearization of `operation`; returns where the search resumes (after its call).
    fn undo(
        &mut self,
        operation: usize,
        linearized: &mut [u64],
        pending_returns: &mut usize,
    ) -> usize {
        linearized[operation / 64] &= !(1 << (operation % 64));
        if let Some(return_event) = self.return_event[operation] {
            self.relink(return_event);
            *pending_returns += 1;
        }
        let call = self.call_event[operation];
        self.relink(call);
        self.next[call]
    }
}

/// Records a history from concurrent client tasks, timestamped against one clock.
#[derive(Debug)]
pub struct HistoryRecorder {
    started: Instant,
    records: Mutex<Vec<Record>>,
}

/// An invoked operation waiting for its outcome.
#[derive(Debug)]
#[must_use = "complete the operation with ok, read or unknown"]
pub struct Pending {
    key: Vec<u8>,
    operation: Operation,
    invoked_at: u64,
}

impl Default for HistoryRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl HistoryRecorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        HistoryRecorder {
            started: Instant::now(),
            records: Mutex::new(Vec::new()),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Marks the invocation of a write (`None`: a delete).
    pub fn invoke_write(&self, key: &[u8], value: Option<&[u8]>) -> Pending {
        Pending {
            key: key.to_vec(),
            operation: Operation::Write(value.map(<[u8]>::to_vec)),
            invoked_at: self.now(),
        }
    }

    /// Marks the invocation of a read.
    pub fn invoke_read(&self, key: &[u8]) -> Pending {
        Pending {
            key: key.to_vec(),
            operation: Operation::Read(None),
            invoked_at: self.now(),
        }
    }

    /// The write was acknowledged.
    pub fn write_ok(&self, pending: Pending) {
        let completed_at = Some(self.now());
        self.push(Record {
            key: pending.key,
            operation: pending.operation,
            invoked_at: pending.invoked_at,
            completed_at,
        });
    }

    /// The read returned `value`.
    pub fn read_ok(&self, pending: Pending, value: Option<&[u8]>) {
        let completed_at = Some(self.now());
        self.push(Record {
            key: pending.key,
            operation: Operation::Read(value.map(<[u8]>::to_vec)),
            invoked_at: pending.invoked_at,
            completed_at,
        });
    }

    /// The operation definitely did not take effect (the server refused it): it is dropped.
    pub fn failed(&self, pending: Pending) {
        drop(pending);
    }

    /// The outcome is unknown (timeout, lost connection, "outcome unknown" error).
    pub fn unknown(&self, pending: Pending) {
        self.push(Record {
            key: pending.key,
            operation: pending.operation,
            invoked_at: pending.invoked_at,
            completed_at: None,
        });
    }

    fn push(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(record);
    }

    /// Everything recorded so far.
    pub fn history(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(value: &str, invoked_at: u64, completed_at: Option<u64>) -> Record {
        Record {
            key: b"k".to_vec(),
            operation: Operation::Write(Some(value.as_bytes().to_vec())),
            invoked_at,
            completed_at,
        }
    }

    fn read(value: Option<&str>, invoked_at: u64, completed_at: u64) -> Record {
        Record {
            key: b"k".to_vec(),
            operation: Operation::Read(value.map(|v| v.as_bytes().to_vec())),
            invoked_at,
            completed_at: Some(completed_at),
        }
    }

    fn is_violation(history: &[Record]) -> bool {
        matches!(check(history), Verdict::Violation { .. })
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let history = [
            read(None, 0, 1),
            write("a", 2, Some(3)),
            read(Some("a"), 4, 5),
            write("b", 6, Some(7)),
        ];
        assert_eq!(check(&history), Verdict::Linearizable);
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        let old = [
            write("a", 0, Some(1)),
            write("b", 2, Some(10)),
            read(Some("a"), 3, 4),
        ];
        let new = [
            write("a", 0, Some(1)),
            write("b", 2, Some(10)),
            read(Some("b"), 3, 4),
        ];
        assert_eq!(check(&old), Verdict::Linearizable);
        assert_eq!(check(&new), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_rejected() {
        let history = [
            write("a", 0, Some(1)),
            write("b", 2, Some(3)),
            read(Some("a"), 4, 5),
        ];
        assert!(is_violation(&history));
    }

    #[test]
    fn reads_cannot_go_back_in_time() {
        // Both reads overlap the write, but once one reader saw "b", a later reader cannot see "a".
        let history = [
            write("a", 0, Some(1)),
            write("b", 2, Some(20)),
            read(Some("b"), 3, 4),
            read(Some("a"), 5, 6),
        ];
        assert!(is_violation(&history));
    }

    #[test]
    fn a_value_nobody_wrote_is_rejected() {
        assert!(is_violation(&[
            write("a", 0, Some(1)),
            read(Some("z"), 2, 3)
        ]));
    }

    #[test]
    fn a_lost_acknowledged_write_is_rejected() {
        // The write was acknowledged, then a read long after finds nothing.
        assert!(is_violation(&[write("a", 0, Some(1)), read(None, 5, 6)]));
    }

    #[test]
    fn unknown_writes_may_or_may_not_take_effect() {
        let applied = [write("a", 0, None), read(Some("a"), 5, 6)];
        let not_applied = [write("a", 0, None), read(None, 5, 6)];
        // ... but not before they were invoked.
        let too_early = [read(Some("a"), 0, 1), write("a", 2, None)];
        assert_eq!(check(&applied), Verdict::Linearizable);
        assert_eq!(check(&not_applied), Verdict::Linearizable);
        assert!(is_violation(&too_early));
    }

    #[test]
    fn unknown_writes_take_effect_once_and_stay_ordered() {
        // The unknown write of "a" may land late, but after "b" was read following "a", "a" is gone.
        let history = [
            write("a", 0, None),
            write("b", 1, Some(2)),
            read(Some("a"), 3, 4),
            read(Some("b"), 5, 6),
            read(Some("a"), 7, 8),
        ];
        assert!(is_violation(&history));
    }

    #[test]
    fn keys_are_checked_independently() {
        let mut other = write("x", 0, Some(1));
        other.key = b"other".to_vec();
        let history = [other, write("a", 2, Some(3)), read(Some("a"), 4, 5)];
        assert_eq!(check(&history), Verdict::Linearizable);
        // A violation names the key it was found on.
        let mut lost = read(None, 6, 7);
        lost.key = b"other".to_vec();
        let mut acknowledged = write("x", 0, Some(1));
        acknowledged.key = b"other".to_vec();
        match check(&[write("a", 2, Some(3)), acknowledged, lost]) {
            Verdict::Violation { key, operations } => {
                assert_eq!(key, b"other");
                assert_eq!(operations.len(), 2);
            }
            verdict => panic!("expected a violation on `other`, got {verdict:?}"),
        }
    }

    #[test]
    fn recorder_builds_checkable_histories() {
        let recorder = HistoryRecorder::new();
        let pending = recorder.invoke_write(b"k", Some(b"1"));
        recorder.write_ok(pending);
        let pending = recorder.invoke_read(b"k");
        recorder.read_ok(pending, Some(b"1"));
        let pending = recorder.invoke_write(b"k", Some(b"2"));
        recorder.unknown(pending);
        assert_eq!(recorder.history().len(), 3);
        assert_eq!(check(&recorder.history()), Verdict::Linearizable);
        let pending = recorder.invoke_read(b"k");
        recorder.read_ok(pending, Some(b"3"));
        assert!(matches!(
            check(&recorder.history()),
            Verdict::Violation { .. }
        ));
    }

    /// A history produced by a real atomic register: each operation takes effect at one instant
    /// inside its interval, and some writes lose their reply.
    fn simulated_history(
        operations: &[(bool, u8, u64, u64, bool)],
    ) -> (Vec<Record>, Vec<(u64, usize)>) {
        // (is_write, value, start, length, reply_lost): effect at start + length / 2.
        let mut effects: Vec<(u64, usize)> = operations
            .iter()
            .enumerate()
            .map(|(index, &(_, _, start, length, _))| (start * 4 + length * 2, index))
            .collect();
        effects.sort();
        let mut register: Option<Vec<u8>> = None;
        let mut records = vec![None; operations.len()];
        for &(_, index) in &effects {
            let (is_write, value, start, length, reply_lost) = operations[index];
            let (invoked_at, completed_at) = (start * 4, start * 4 + length * 4);
            records[index] = Some(if is_write {
                register = Some(vec![value]);
                Record {
                    key: b"k".to_vec(),
                    operation: Operation::Write(Some(vec![value])),
                    invoked_at,
                    completed_at: (!reply_lost).then_some(completed_at),
                }
            } else {
                Record {
                    key: b"k".to_vec(),
                    operation: Operation::Read(register.clone()),
                    invoked_at,
                    completed_at: Some(completed_at),
                }
            });
        }
        (records.into_iter().flatten().collect(), effects)
    }

    proptest! {
        #[test]
        fn histories_of_a_real_register_are_linearizable(
            operations in prop::collection::vec(
                (any::<bool>(), 0u8..4, 0u64..40, 1u64..10, prop::bool::weighted(0.1)),
                1..40,
            )
        ) {
            let (history, _) = simulated_history(&operations);
            prop_assert_eq!(check(&history), Verdict::Linearizable);
        }

        #[test]
        fn a_read_of_a_never_written_value_is_always_caught(
            operations in prop::collection::vec(
                (any::<bool>(), 0u8..4, 0u64..40, 1u64..10, Just(false)),
                1..30,
            ),
            victim in any::<prop::sample::Index>(),
        ) {
            let (mut history, _) = simulated_history(&operations);
            let reads: Vec<usize> = history
                .iter()
                .enumerate()
                .filter(|(_, record)| matches!(record.operation, Operation::Read(_)))
                .map(|(index, _)| index)
                .collect();
            prop_assume!(!reads.is_empty());
            let index = reads[victim.index(reads.len())];
            history[index].operation = Operation::Read(Some(vec![99]));
            let violated = matches!(check(&history), Verdict::Violation { .. });
            prop_assert!(violated, "{:?}", history);
        }
    }
}
