//! The register tests that came with the checker from `ringcache-e2e`: histories of SET/GET/DEL that
//! must pass and histories that must fail, and histories of a simulated atomic register.

use proptest::prelude::*;
use ringcache_checker::{HistoryRecorder, Operation, Record, Verdict, check};

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

#[test]
fn an_unknown_delete_may_explain_a_missing_value() {
    let delete = Record {
        key: b"k".to_vec(),
        operation: Operation::Write(None),
        invoked_at: 2,
        completed_at: None,
    };
    let history = [write("a", 0, Some(1)), delete, read(None, 5, 6)];
    assert_eq!(check(&history), Verdict::Linearizable);
}
