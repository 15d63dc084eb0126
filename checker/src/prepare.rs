//! Before the search: one key's records as steps with intervals, and writes of unknown outcome
//! rewritten where that cannot change the verdict.

use std::collections::HashMap;

use crate::history::{Operation, Record};
use crate::model::{Interner, Step, Value};

/// One operation as the search sees it: a step, and its interval (no end: outcome unknown).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub(crate) step: Step,
    pub(crate) call: u64,
    pub(crate) ret: Option<u64>,
    /// A write with a reply whose value nothing can observe (see [`prepare`]).
    pub(crate) dead: bool,
}

/// Interns the records' values, and rewrites writes of unknown outcome that only reads can observe.
///
/// Such a write of a value no read returned is dropped: right after it only reads of its value
/// could be linearized, so leaving it out of a linearization leaves a linearization. If its value is
/// written by nothing else and some read returned it, the write did take effect, before that read
/// ended: it becomes a write completed at the earliest such read's end. "Only reads observe it"
/// holds for bytes (increments fail on them) and, on keys without increments, for every value.
/// Neither rewrite changes the verdict (the brute-force cross-check tests exactly that).
///
/// A write with a reply whose value only reads could observe, and none returned, is marked dead:
/// right after it only a write can come, which is what the search uses.
pub(crate) fn prepare(records: &[&Record]) -> Vec<Op> {
    let mut interner = Interner::default();
    let mut ops: Vec<Op> = records
        .iter()
        // A read whose reply never came constrains nothing.
        .filter(|record| {
            !(matches!(record.operation, Operation::Read(_)) && record.completed_at.is_none())
        })
        .map(|record| Op {
            step: match (interner.step(&record.operation), record.completed_at) {
                // Without a reply there is no result: one recorded anyway is ignored.
                (Step::Increment { by, .. }, None) => Step::Increment { by, result: None },
                (step, _) => step,
            },
            call: record.invoked_at,
            // A reply stamped before its call (clock trouble in the recorder) ends at the call.
            ret: record.completed_at.map(|end| end.max(record.invoked_at)),
            dead: false,
        })
        .collect();
    let has_increments = ops
        .iter()
        .any(|op| matches!(op.step, Step::Increment { .. }));
    let mut writers: HashMap<Value, usize> = HashMap::new();
    let mut first_read_end: HashMap<Value, u64> = HashMap::new();
    for op in &ops {
        match (op.step, op.ret) {
            (Step::Write(value), _) => *writers.entry(value).or_default() += 1,
            (Step::Read(value), Some(end)) => {
                let first = first_read_end.entry(value).or_insert(end);
                *first = (*first).min(end);
            }
            _ => {}
        }
    }
    ops.retain_mut(|op| {
        let (Step::Write(value), None) = (op.step, op.ret) else {
            return true;
        };
        if has_increments && !matches!(value, Value::Bytes(_)) {
            return true;
        }
        let Some(&deadline) = first_read_end.get(&value) else {
            return false;
        };
        // Absent is also the initial value: a read of it does not prove the delete happened.
        if value != Value::Absent && writers[&value] == 1 {
            op.ret = Some(deadline.max(op.call));
        }
        true
    });
    for op in &mut ops {
        if let (Step::Write(value), Some(_)) = (op.step, op.ret) {
            let only_reads_see_it = !has_increments || matches!(value, Value::Bytes(_));
            op.dead = only_reads_see_it && !first_read_end.contains_key(&value);
        }
    }
    ops
}
