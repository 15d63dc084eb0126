//! Setting a search up, and making and undoing moves on its linked list of events.

use std::collections::HashMap;

use super::{Event, Move, Search, Steps};
use crate::memo::Memo;
use crate::model::Step;
use crate::prepare::Op;

impl Search {
    pub(super) fn new(ops: Vec<Op>) -> Self {
        // Time-ordered events; at equal times calls sort first, which treats touching operations as
        // concurrent (the permissive reading: timestamps have finite resolution).
        let mut events = Vec::new();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        let mut class_of: HashMap<Step, usize> = HashMap::new();
        for (index, op) in ops.iter().enumerate() {
            if let Some(ret) = op.ret {
                events.push(Event {
                    op: index,
                    is_call: true,
                    time: op.call,
                });
                events.push(Event {
                    op: index,
                    is_call: false,
                    time: ret,
                });
            } else {
                let class = *class_of.entry(op.step).or_insert_with(|| {
                    classes.push(Vec::new());
                    classes.len() - 1
                });
                classes[class].push(index);
            }
        }
        events.sort_by_key(|event| (event.time, !event.is_call, event.op));
        for class in &mut classes {
            class.sort_by_key(|&op| (ops[op].call, op));
        }
        let is_increment =
            |class: &Vec<usize>| matches!(ops[class[0]].step, Step::Increment { .. });
        // Writes by first call, latest first; then increments, smallest class first.
        classes.sort_by_key(|class| {
            if is_increment(class) {
                (true, class.len() as u64, class[0])
            } else {
                (false, u64::MAX - ops[class[0]].call, class[0])
            }
        });
        let first_increment = classes.partition_point(|class| !is_increment(class));
        let magnitude = classes[first_increment..]
            .iter()
            .flatten()
            .map(|&op| match ops[op].step {
                Step::Increment { by, .. } => i128::from(by).abs(),
                Step::Read(_) | Step::Write(_) => 0,
            })
            .sum();
        let mut call_event = vec![usize::MAX; ops.len()];
        let mut return_event = vec![usize::MAX; ops.len()];
        let mut open_start = Vec::with_capacity(events.len() + 1);
        let mut open = Vec::new();
        let mut active: Vec<usize> = Vec::new();
        for (index, event) in events.iter().enumerate() {
            open_start.push(open.len());
            if event.is_call {
                call_event[event.op] = index;
                active.push(event.op);
            } else {
                return_event[event.op] = index;
                active.retain(|&op| op != event.op);
                open.extend_from_slice(&active);
            }
        }
        open_start.push(open.len());
        let sentinel = events.len();
        let next = (0..=sentinel)
            .map(|index| if index == sentinel { 0 } else { index + 1 })
            .collect();
        let previous = (0..=sentinel)
            .map(|index| if index == 0 { sentinel } else { index - 1 })
            .collect();
        Search {
            pending_returns: sentinel / 2,
            pending_dead: ops.iter().filter(|op| op.dead).count(),
            counts: vec![0; classes.len()],
            linearized: vec![false; ops.len()],
            ops,
            events,
            call_event,
            return_event,
            next,
            previous,
            open_start,
            open,
            classes,
            first_increment,
            magnitude,
            flushed: Vec::new(),
            memo: Memo::default(),
            key: Vec::new(),
            unknowns: Vec::new(),
            targets: Vec::new(),
            first_return: Vec::new(),
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

    pub(super) fn make(&mut self, made: Move) {
        match made {
            Move::Unknown { class, take } => self.counts[class] += take,
            Move::Known(op) => {
                self.linearized[op] = true;
                self.unlink(self.call_event[op]);
                self.unlink(self.return_event[op]);
                self.pending_returns -= 1;
                self.pending_dead -= usize::from(self.ops[op].dead);
            }
        }
    }

    pub(super) fn undo(&mut self, made: Move) {
        match made {
            Move::Unknown { class, take } => self.counts[class] -= take,
            Move::Known(op) => {
                self.linearized[op] = false;
                self.relink(self.return_event[op]);
                self.relink(self.call_event[op]);
                self.pending_returns += 1;
                self.pending_dead += usize::from(self.ops[op].dead);
            }
        }
    }

    /// Linearizes every dead write that is a candidate (before a write); returns how many.
    pub(super) fn flush(&mut self, steps: &mut Steps) -> Option<usize> {
        let sentinel = self.events.len();
        let mut cursor = self.next[sentinel];
        let mut flushed = 0;
        while let Some(&event) = self.events.get(cursor) {
            if !event.is_call {
                break;
            }
            steps.tick()?;
            if self.ops[event.op].dead {
                self.make(Move::Known(event.op));
                self.flushed.push(event.op);
                flushed += 1;
                // Its return may have been the first one: the walk goes on past it.
                cursor = self.next[self.previous[cursor]];
            } else {
                cursor = self.next[cursor];
            }
        }
        Some(flushed)
    }

    pub(super) fn unflush(&mut self, count: usize) {
        for _ in 0..count {
            let op = self.flushed.pop().expect("flushed writes are undone once");
            self.undo(Move::Known(op));
        }
    }
}
